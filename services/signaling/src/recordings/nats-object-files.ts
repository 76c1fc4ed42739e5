import { PassThrough, type Readable } from 'node:stream';
import { once } from 'node:events';
import { DeliverPolicy, type NatsConnection, type ObjectInfo, type ObjectStore } from 'nats';
import { RECORDING_FILES_STREAM, openRecordingFiles } from '@recstack/catalog';
import { BUCKETS, type Recording } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import type { FileSource, RecordingFile } from './recording-files.js';

/** How many chunks may be in flight from NATS while the client reads: bounds memory per download. */
const CHUNKS_IN_FLIGHT = 4;
/** an abandoned read's consumer goes away on the server after this long */
const READER_INACTIVE_MS = 30_000;

export interface NatsObjectFilesOptions {
  /** STORAGE=nats: create the bucket (with `replicas`) when it does not exist yet; otherwise only bind it */
  create?: boolean;
  replicas?: number;
}

/**
 * Recording files kept in the JetStream object store `recording_files_v1` (STORAGE=nats; the recorder
 * uploads them, key = recording id). Reads pull chunk after chunk as the client takes them, so a slow
 * download never buffers a whole recording here. A range that starts inside the file starts reading at the
 * chunk that holds its first byte, when the object's chunks lie next to each other in the stream (they do
 * unless uploads ran concurrently); otherwise the chunks before it are read and skipped.
 */
export class NatsObjectFiles implements FileSource {
  private store: ObjectStore | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly options: NatsObjectFilesOptions = {},
  ) {}

  /** Binds the bucket (creating it when configured to); a missing bucket is not an error when only binding. */
  async open(): Promise<ObjectStore | undefined> {
    return this.bucket();
  }

  async find(recording: Pick<Recording, 'id'>): Promise<RecordingFile | undefined> {
    const store = await this.bucket();
    const info = await store?.info(recording.id);
    if (!info || info.deleted) return undefined;
    return { size: info.size, modified: new Date(info.mtime), open: (range) => this.read(info, range) };
  }

  async remove(recording: Pick<Recording, 'id'>): Promise<boolean> {
    const store = await this.bucket();
    const info = await store?.info(recording.id);
    if (!store || !info || info.deleted) return false;
    await store.delete(recording.id);
    return true;
  }

  private async bucket(): Promise<ObjectStore | undefined> {
    if (this.store) return this.store;
    if (this.options.create) {
      this.store = await openRecordingFiles(this.nc, this.logger, { replicas: this.options.replicas ?? 1 });
      return this.store;
    }
    // STORAGE=local: recordings made with STORAGE=nats earlier still download, once the bucket exists
    const jsm = await this.nc.jetstreamManager();
    try {
      await jsm.streams.info(RECORDING_FILES_STREAM);
    } catch (err) {
      if (/stream not found/i.test(String((err as Error).message))) return undefined;
      throw err;
    }
    this.store = await this.nc.jetstream().views.os(BUCKETS.recordingFiles);
    return this.store;
  }

  private read(info: ObjectInfo, range?: { start: number; end: number }): Readable {
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    const start = range?.start ?? 0;
    const end = range?.end ?? info.size - 1;
    void this.pump(info, start, end, out).catch((err: unknown) => {
      this.logger.warn({ err, recordingId: info.name }, 'object store read failed');
      out.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    return out;
  }

  private async pump(info: ObjectInfo, start: number, end: number, out: PassThrough): Promise<void> {
    if (info.size === 0 || end < start) {
      out.end();
      return;
    }
    const subject = `$O.${info.bucket}.C.${info.nuid}`;
    const seek = start > 0 ? await this.seek(info, subject, start) : undefined;
    this.logger.debug({ recordingId: info.name, start, end, skippedBytes: seek?.offset ?? 0 }, 'object read');
    // one filter subject as a string: a list needs nats-server 2.10, Debian 12 ships 2.9
    const consumer = await this.nc.jetstream().consumers.get(RECORDING_FILES_STREAM, {
      filterSubjects: subject,
      inactive_threshold: READER_INACTIVE_MS,
      ...(seek ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seek.seq } : {}),
    });
    const messages = await consumer.consume({ max_messages: CHUNKS_IN_FLIGHT });
    let offset = seek?.offset ?? 0;
    try {
      for await (const message of messages) {
        const chunk = message.data;
        const from = Math.max(start - offset, 0);
        const to = Math.min(end - offset + 1, chunk.length);
        offset += chunk.length;
        if (to > from && !out.write(chunk.subarray(from, to))) {
          await Promise.race([once(out, 'drain'), once(out, 'close')]);
        }
        if (out.destroyed || offset > end || message.info.pending === 0) break;
      }
    } finally {
      messages.stop();
    }
    if (!out.destroyed) out.end();
  }

  /**
   * Where to start reading for a range beginning at `start`: the stream sequence of the chunk holding that
   * byte and the file offset of that chunk. Only when the object's chunks are consecutive messages of the
   * stream (first = last - chunks + 1) and all but the last have the bucket's chunk size; undefined otherwise.
   */
  private async seek(info: ObjectInfo, subject: string, start: number): Promise<{ seq: number; offset: number } | undefined> {
    const chunkSize = info.options?.max_chunk_size;
    if (!chunkSize || info.chunks < 2) return undefined;
    if (info.size <= (info.chunks - 1) * chunkSize || info.size > info.chunks * chunkSize) return undefined;
    const index = Math.floor(start / chunkSize);
    if (index === 0) return undefined;
    try {
      const jsm = await this.nc.jetstreamManager();
      const last = await jsm.streams.getMessage(RECORDING_FILES_STREAM, { last_by_subj: subject });
      const first = await this.firstSequence(subject);
      if (first === undefined || last.seq - first + 1 !== info.chunks) return undefined;
      return { seq: first + index, offset: index * chunkSize };
    } catch (err) {
      this.logger.debug({ err, recordingId: info.name }, 'range seek not possible, reading from the start');
      return undefined;
    }
  }

  /** The stream sequence of an object's first chunk, read without its payload. */
  private async firstSequence(subject: string): Promise<number | undefined> {
    const consumer = await this.nc.jetstream().consumers.get(RECORDING_FILES_STREAM, { filterSubjects: subject, headers_only: true, inactive_threshold: READER_INACTIVE_MS });
    try {
      const message = await consumer.next({ expires: 5000 });
      return message?.seq;
    } finally {
      await consumer.delete().catch(() => undefined);
    }
  }
}
