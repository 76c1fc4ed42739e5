import { setTimeout as delay } from 'node:timers/promises';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection, ObjectStore } from 'nats';
import type { RecordingReport, StorageKind } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { uploadFile } from './object-upload.js';
import type { StorageMetrics } from './storage-metrics.js';

export interface StorageSettings {
  kind: StorageKind;
  recordingsDir: string;
  /** how long place() tries before it gives the report back with the file still local */
  uploadWaitMs: number;
  /** longest pause between two attempts of a failing upload */
  retryMaxMs: number;
  /** first pause between attempts (doubles each time, with jitter) */
  retryBaseMs?: number;
}

/** A finished recording's file, as the storage needs to know it. */
export type StoredFile = Pick<RecordingReport, 'recordingId' | 'sessionId' | 'fileName'>;

/**
 * Told that a file, left local by place(), is now verified in the object store. Writes that to the catalog
 * and answers `gone` when the recording no longer exists (deleted meanwhile): its object is removed again.
 */
export type MovedHandler = (file: StoredFile) => Promise<'kept' | 'gone'>;

/**
 * Where finished files live. STORAGE=local: in RECORDINGS_DIR, nothing to do. STORAGE=nats: a `done`
 * recording's file is put into the object store under its recording id and verified (size, SHA-256,
 * chunks) before anyone is told it is there; the local copy is removed only after the catalog says so.
 * A failed recording's file stays local (it is what is left for a person to look at).
 *
 * An upload that fails is retried with exponential backoff: first inside place() for up to
 * STORAGE_UPLOAD_WAIT_SECONDS (the catalog shows `stopping` meanwhile), then in the background, where
 * the recording is already reported `done` with `storage: 'local'` and moves to `nats` once an upload
 * verifies.
 */
export class RecordingStorage {
  private readonly background = new Map<string, { timer: NodeJS.Timeout | undefined; running: Promise<void> | undefined }>();
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: ObjectStore | undefined,
    private readonly settings: StorageSettings,
    private readonly metrics: StorageMetrics | undefined,
    private readonly logger: Logger,
    private readonly onMoved: MovedHandler,
  ) {
    if (settings.kind === 'nats' && !store) throw new Error('STORAGE=nats needs the object store');
  }

  get kind(): StorageKind {
    return this.settings.kind;
  }

  /** Recordings whose upload is still being retried in the background. */
  get pendingIds(): string[] {
    return [...this.background.keys()];
  }

  isPending(recordingId: string): boolean {
    return this.background.has(recordingId);
  }

  localPath(fileName: string): string {
    return join(this.settings.recordingsDir, fileName);
  }

  /**
   * Puts a finished recording's file where the storage setting says and returns the report saying where it
   * is. Never throws. `deadline` (epoch ms) shortens the wait (shutdown).
   */
  async place(report: RecordingReport, options: { deadline?: number } = {}): Promise<RecordingReport> {
    if (this.settings.kind === 'local' || report.status !== 'done' || !this.store) return { ...report, storage: 'local' };
    const log = this.logger.child({ recordingId: report.recordingId, sessionId: report.sessionId });
    const waitUntil = Math.min(Date.now() + this.settings.uploadWaitMs, options.deadline ?? Number.POSITIVE_INFINITY);
    for (let attempt = 1; ; attempt++) {
      if (await this.attempt(report, log, attempt)) return { ...report, storage: 'nats' };
      const pause = this.pause(attempt);
      if (this.closed || Date.now() + pause >= waitUntil) {
        this.retryInBackground(report, attempt);
        log.warn({ attempts: attempt }, 'upload not verified yet, reporting the file as local and retrying');
        return { ...report, storage: 'local' };
      }
      await delay(pause, undefined, { ref: false });
    }
  }

  /**
   * Retries the upload of a finished recording whose file is still here (found by the reconciler after a
   * restart, or left by a predecessor); `onMoved` is told when it is verified.
   */
  resume(file: StoredFile): void {
    if (this.settings.kind !== 'nats' || this.background.has(file.recordingId)) return;
    this.retryInBackground(file, 0);
  }

  /** Removes the local copy of a file that is verified in the object store (after the catalog says so). */
  async discardLocal(fileName: string): Promise<void> {
    await rm(this.localPath(fileName), { force: true });
  }

  /** The size of a recording's object in the store, or undefined when there is none. */
  async storedSize(recordingId: string): Promise<number | undefined> {
    const info = await this.store?.info(recordingId);
    return info && !info.deleted ? info.size : undefined;
  }

  /** Removes a recording's object (its catalog entry is gone). */
  async discardObject(recordingId: string): Promise<void> {
    await this.store?.delete(recordingId).catch(() => undefined);
  }

  /**
   * STORAGE=nats: a segment of a recording that goes on on another recorder (a handover) is put into the
   * object store under `segmentObjectName`, so the recorder that joins the segments finds it whatever disk it
   * has; the local copy goes once it is verified. Tried until `deadline`; false (the file stays here) when it
   * did not verify by then. STORAGE=local: nothing to do, the segment stays in the shared folder.
   */
  async placeSegment(segment: StoredFile, deadline: number): Promise<boolean> {
    if (this.settings.kind === 'local' || !this.store) return false;
    const log = this.logger.child({ recordingId: segment.recordingId, sessionId: segment.sessionId, segment: segment.fileName });
    const path = this.localPath(segment.fileName);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await uploadFile(this.nc, this.store, segmentObjectName(segment.fileName), path);
        await rm(path, { force: true });
        log.info({ attempt, sizeBytes: result.size, digest: result.digest }, 'segment uploaded and verified');
        return true;
      } catch (err) {
        log.warn({ err, attempt }, 'segment upload failed');
        const pause = this.pause(attempt);
        if (this.closed || Date.now() + pause >= deadline) return false;
        await delay(pause, undefined, { ref: false });
      }
    }
  }

  /**
   * Brings an earlier segment's file from the object store into the recordings folder (as `fileName`), for
   * the join. False when the store has no such segment (STORAGE=local, or its recorder never uploaded it).
   * The object's digest is checked by the client as it reads; a partial download is removed.
   */
  async fetchSegment(fileName: string): Promise<boolean> {
    if (this.settings.kind === 'local' || !this.store) return false;
    const result = await this.store.get(segmentObjectName(fileName));
    if (!result) return false;
    const path = this.localPath(fileName);
    const downloading = `${path}.download`;
    const file = await open(downloading, 'w');
    try {
      const reader = result.data.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await file.write(value);
      }
      await file.close();
      const failed = await result.error;
      if (failed) throw failed;
      await rename(downloading, path);
      return true;
    } catch (err) {
      await file.close().catch(() => undefined);
      await rm(downloading, { force: true });
      throw err;
    }
  }

  /** The size of a segment's object (checked against the free space before fetchSegment), undefined when there is none. */
  async segmentSize(fileName: string): Promise<number | undefined> {
    if (this.settings.kind === 'local' || !this.store) return undefined;
    const info = await this.store.info(segmentObjectName(fileName));
    return info && !info.deleted ? info.size : undefined;
  }

  /** Removes a segment's object once the segments are joined. */
  async discardSegment(fileName: string): Promise<void> {
    await this.store?.delete(segmentObjectName(fileName)).catch(() => undefined);
  }

  /** Stops the background retries; an attempt in flight is waited for until `deadline`. */
  async close(deadline = Date.now()): Promise<void> {
    this.closed = true;
    const running: Array<Promise<void>> = [];
    for (const entry of this.background.values()) {
      clearTimeout(entry.timer);
      if (entry.running) running.push(entry.running);
    }
    const left = Math.max(0, deadline - Date.now());
    await Promise.race([Promise.allSettled(running), delay(left, undefined, { ref: false })]);
    if (this.background.size > 0) this.logger.warn({ recordings: [...this.background.keys()] }, 'uploads left pending: the files stay local');
  }

  /** One upload; true when it verified. */
  private async attempt(report: StoredFile, log: Logger, attempt: number): Promise<boolean> {
    const path = this.localPath(report.fileName);
    const started = performance.now();
    try {
      const result = await uploadFile(this.nc, this.store as ObjectStore, report.recordingId, path);
      const seconds = (performance.now() - started) / 1000;
      this.metrics?.uploads.inc({ result: 'ok' });
      this.metrics?.uploadSeconds.observe(seconds);
      this.metrics?.uploadedBytes.inc(result.size);
      log.info({ attempt, sizeBytes: result.size, digest: result.digest, chunks: result.chunks, ms: Math.round(seconds * 1000) }, 'file uploaded and verified');
      return true;
    } catch (err) {
      this.metrics?.uploads.inc({ result: 'error' });
      const missing = await stat(path).then(
        () => false,
        () => true,
      );
      log.warn({ err, attempt, missing }, 'file upload failed');
      return false;
    }
  }

  private retryInBackground(report: StoredFile, attemptsSoFar: number): void {
    if (this.closed || this.background.has(report.recordingId)) return;
    const log = this.logger.child({ recordingId: report.recordingId, sessionId: report.sessionId });
    const entry: { timer: NodeJS.Timeout | undefined; running: Promise<void> | undefined } = { timer: undefined, running: undefined };
    this.background.set(report.recordingId, entry);
    this.metrics?.pending.set(this.background.size);
    const done = () => {
      this.background.delete(report.recordingId);
      this.metrics?.pending.set(this.background.size);
    };
    const schedule = (attempt: number) => {
      if (this.closed) return;
      entry.timer = setTimeout(
        () => {
          entry.running = (async () => {
            const local = await stat(this.localPath(report.fileName)).then(
              () => true,
              () => false,
            );
            if (!local) {
              log.warn('the file to upload is gone, giving up');
              done();
              return;
            }
            if (!(await this.attempt(report, log, attempt))) {
              schedule(attempt + 1);
              return;
            }
            try {
              const outcome = await this.onMoved(report);
              if (outcome === 'gone') await this.discardObject(report.recordingId);
              await this.discardLocal(report.fileName);
              log.info({ outcome }, outcome === 'kept' ? 'recording moved to the object store' : 'recording was deleted meanwhile, upload removed');
              done();
            } catch (err) {
              // the catalog could not be told: try the whole step again later (the upload is idempotent)
              log.warn({ err }, 'catalog not updated after the upload, retrying');
              schedule(attempt + 1);
            }
          })().finally(() => (entry.running = undefined));
        },
        attemptsSoFar === 0 && attempt === 1 ? 0 : this.pause(attempt - 1),
      );
      entry.timer.unref();
    };
    schedule(attemptsSoFar + 1);
  }

  private pause(attempt: number): number {
    const base = this.settings.retryBaseMs ?? 1000;
    const exponential = Math.min(this.settings.retryMaxMs, base * 2 ** Math.max(0, attempt - 1));
    return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
  }
}

/**
 * The object of a handed-over segment: never a recording id (those have no dot), so a segment never takes
 * the place of a finished recording's object.
 */
export function segmentObjectName(fileName: string): string {
  return `segments/${fileName}`;
}
