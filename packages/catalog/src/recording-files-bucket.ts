import { BUCKETS } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import type { NatsConnection, ObjectStore } from 'nats';
import { ensureReplicas } from './bucket-replicas.js';

/** The stream behind the bucket, for code that reads chunks itself (ranged downloads). */
export const RECORDING_FILES_STREAM = `OBJ_${BUCKETS.recordingFiles}`;

export interface RecordingFilesOptions {
  /** JetStream replicas of the bucket (3 on a NATS cluster) */
  replicas?: number;
}

/**
 * The JetStream object store `recording_files_v1` (STORAGE=nats): key = recording id, value = the finished
 * file. Created on first use with the given replicas; an existing bucket with fewer replicas is raised to them.
 */
export async function openRecordingFiles(nc: NatsConnection, logger: Logger, options: RecordingFilesOptions = {}): Promise<ObjectStore> {
  const replicas = options.replicas ?? 1;
  const store = await nc.jetstream().views.os(BUCKETS.recordingFiles, { replicas, description: 'finished recording files, key = recording id' });
  // the object store binds an existing stream without checking it: make sure it is really there
  await store.status();
  if (replicas > 1) await ensureReplicas(nc, RECORDING_FILES_STREAM, replicas, logger);
  return store;
}
