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

/**
 * Sets a stream's max_bytes (-1: none) when it differs. Raising is always safe. Lowering is not: JetStream
 * meets a limit the stream is over by deleting its oldest messages, which for the object store means
 * corrupting the oldest recordings, whatever the discard policy. So a limit is lowered only while the bucket
 * holds at most half of it (uploads landing between this read and the update cannot push it over); otherwise
 * the limit stays as it is and the log says why, for an operator to free room or raise the setting.
 */
export async function ensureMaxBytes(nc: NatsConnection, stream: string, maxBytes: number, logger: Logger): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const current = info.config.max_bytes;
  if (current === maxBytes) return;
  const lowering = maxBytes > 0 && (current <= 0 || maxBytes < current);
  if (lowering && info.state.bytes > maxBytes / 2) {
    logger.warn(
      { stream, holds: info.state.bytes, limit: current, wanted: maxBytes },
      'bucket size limit not lowered: the bucket holds too much for it (JetStream would delete the oldest files)',
    );
    return;
  }
  await jsm.streams.update(stream, { ...info.config, max_bytes: maxBytes });
  logger.info({ stream, from: current, to: maxBytes }, 'bucket size limit set');
}
