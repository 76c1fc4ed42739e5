import { BUCKETS } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import type { NatsConnection, ObjectStore } from 'nats';
import { ensureReplicas } from './bucket-replicas.js';

/** The stream behind the bucket, for code that reads chunks itself (ranged downloads). */
export const RECORDING_FILES_STREAM = `OBJ_${BUCKETS.recordingFiles}`;

export interface RecordingFilesOptions {
  /** JetStream replicas of the bucket (3 on a NATS cluster) */
  replicas?: number;
  /**
   * The bucket's max_bytes (STORAGE_MAX_BYTES; 0: none of its own). Set on creation and, when given, on an
   * existing bucket too: an upload that does not fit is refused by the server (and its chunks purged), while
   * the catalog and session buckets keep their room. Undefined: the bucket is bound as it is (readers).
   */
  maxBytes?: number;
}

/**
 * The JetStream object store `recording_files_v1` (STORAGE=nats): key = recording id, value = the finished
 * file. Created on first use with the given replicas; an existing bucket with fewer replicas is raised to them.
 * Its size limit is the writer's (the recorders') to set: see `maxBytes`.
 */
export async function openRecordingFiles(nc: NatsConnection, logger: Logger, options: RecordingFilesOptions = {}): Promise<ObjectStore> {
  const replicas = options.replicas ?? 1;
  const limit = options.maxBytes === undefined ? {} : { max_bytes: options.maxBytes > 0 ? options.maxBytes : -1 };
  const store = await nc.jetstream().views.os(BUCKETS.recordingFiles, { replicas, description: 'finished recording files, key = recording id', ...limit });
  // the object store binds an existing stream without checking it: make sure it is really there
  await store.status();
  if (replicas > 1) await ensureReplicas(nc, RECORDING_FILES_STREAM, replicas, logger);
  if (limit.max_bytes !== undefined) await ensureMaxBytes(nc, RECORDING_FILES_STREAM, limit.max_bytes, logger);
  return store;
}

/** Sets a stream's max_bytes (-1: none) when it differs: the configured limit is the one that holds. */
async function ensureMaxBytes(nc: NatsConnection, stream: string, maxBytes: number, logger: Logger): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  if (info.config.max_bytes === maxBytes) return;
  await jsm.streams.update(stream, { ...info.config, max_bytes: maxBytes });
  logger.info({ stream, from: info.config.max_bytes, to: maxBytes }, 'bucket size limit set');
}
