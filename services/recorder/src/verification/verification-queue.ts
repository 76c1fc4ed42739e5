import { stat } from 'node:fs/promises';
import type { FileCheck } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import type { DecodeCheck, DecodeMode } from '../finalize/file-probe.js';
import { PauseGate } from './pause-gate.js';

export type VerifyMode = DecodeMode | 'off';

/** One `done` file to verify. */
export interface VerificationJob {
  recordingId: string;
  sessionId: string;
  path: string;
}

export interface VerificationResult {
  job: VerificationJob;
  fileCheck: FileCheck;
  mode: DecodeMode;
}

export interface VerificationSettings {
  mode: VerifyMode;
  /** decodes at once (RECORDER_VERIFY_CONCURRENCY): one by default, so verification never competes with itself */
  concurrency: number;
  /** what one decode may take before the rest of the file is only read (RECORDER_DECODE_CHECK_TIMEOUT) */
  timeoutMs: number;
}

/**
 * Decodes a file at the lowest priority, its child ended when `signal` aborts and paused while `pause` is;
 * injected so the queue's rules are tested without FFmpeg.
 */
export type Decoder = (path: string, budgetMs: number, mode: DecodeMode, signal: AbortSignal, pause: PauseGate) => Promise<DecodeCheck>;

/** A hold not released by then (a start that hangs) lets verification go on anyway. */
const MAX_HOLD_MS = 15_000;

/**
 * The background verification of finished files: the full decode that used to sit between a stop and
 * `done`. Jobs run one at a time (by default) in arrival order, each decode at nice 19 and CPU and I/O
 * class idle, so they take only what live recordings leave, and none runs while a recording starts here. A result goes to `onResult` (catalog + event).
 *
 * Nothing waits for it: a file deleted meanwhile is skipped quietly, and `close()` drops the jobs not yet
 * begun and kills a running decode without waiting for it: verification is forgotten at shutdown, not
 * resumed; the entry keeps `fileCheck: null` (not verified), which the page does not warn on.
 */
export class VerificationQueue {
  private readonly waiting: VerificationJob[] = [];
  private readonly current = new Set<string>();
  private running = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly jobWaiters = new Map<string, Array<() => void>>();
  private readonly stopping = new AbortController();
  private readonly pause = new PauseGate();
  private holds = 0;

  constructor(
    private readonly settings: VerificationSettings,
    private readonly decode: Decoder,
    private readonly onResult: (result: VerificationResult) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.settings.mode !== 'off';
  }

  /** jobs waiting plus running */
  get size(): number {
    return this.waiting.length + this.running;
  }

  /** Queues a file; false when verification is off or the queue is closed (the file stays unverified). */
  enqueue(job: VerificationJob): boolean {
    if (this.settings.mode === 'off' || this.closed) return false;
    this.waiting.push(job);
    this.pump();
    return true;
  }

  /**
   * Verification gives way while a recording starts here: no decode begins and a running one is paused
   * until every hold is released. Even at CPU class idle, a decode's threads on both cores made a recording
   * process take up to a second longer to listen under load, and a start is what a user waits for. Returns
   * the release (idempotent; it happens by itself after MAX_HOLD_MS).
   */
  hold(): () => void {
    this.holds += 1;
    this.pause.set(true);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.holds -= 1;
      if (this.holds > 0) return;
      this.pause.set(false);
      this.pump();
    };
    const timer = setTimeout(release, MAX_HOLD_MS);
    timer.unref();
    return release;
  }

  /** Resolves when nothing is waiting or running (tests, and STORAGE=nats before a local copy goes). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once a recording's file is neither waiting nor being verified (at once if it is not queued). */
  settled(recordingId: string): Promise<void> {
    if (!this.has(recordingId)) return Promise.resolve();
    return new Promise((resolve) => this.jobWaiters.set(recordingId, [...(this.jobWaiters.get(recordingId) ?? []), resolve]));
  }

  /** Whether a recording's file is waiting or being verified. */
  has(recordingId: string): boolean {
    return this.waiting.some((j) => j.recordingId === recordingId) || this.current.has(recordingId);
  }

  /** Idempotent. Jobs not begun are forgotten (logged with their count); a running decode is killed, not awaited. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopping.abort();
    const dropped = this.waiting.splice(0);
    if (dropped.length > 0) this.logger.info({ count: dropped.length }, 'verifications not run at shutdown');
    for (const job of dropped) this.release(job.recordingId);
    this.settle();
  }

  private pump(): void {
    while (!this.closed && this.holds === 0 && this.running < this.settings.concurrency) {
      const job = this.waiting.shift();
      if (!job) break;
      this.running += 1;
      this.current.add(job.recordingId);
      void this.verify(job).finally(() => {
        this.running -= 1;
        this.current.delete(job.recordingId);
        this.release(job.recordingId);
        this.pump();
        this.settle();
      });
    }
  }

  private release(recordingId: string): void {
    if (this.has(recordingId)) return;
    for (const resolve of this.jobWaiters.get(recordingId) ?? []) resolve();
    this.jobWaiters.delete(recordingId);
  }

  private settle(): void {
    if (this.waiting.length > 0 && !this.closed) return;
    if (this.running > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async verify(job: VerificationJob): Promise<void> {
    const mode = this.settings.mode;
    if (mode === 'off') return;
    const log = this.logger.child({ recordingId: job.recordingId, sessionId: job.sessionId });
    try {
      // deleted (or moved to the object store) since: nothing to verify, and nothing wrong
      if (!(await exists(job.path))) {
        log.debug('file gone before its verification');
        return;
      }
      const started = Date.now();
      const check = await this.decode(job.path, this.settings.timeoutMs, mode, this.stopping.signal, this.pause);
      if (this.closed) return;
      // the file went away under the decode: FFmpeg's complaint is about the deletion, not the file
      if (!check.clean && !(await exists(job.path))) {
        log.debug('file deleted during its verification');
        return;
      }
      if (!check.clean) log.warn({ scope: check.scope, errors: check.errors.slice(0, 5) }, 'file does not decode cleanly');
      log.info({ mode, scope: check.scope, clean: check.clean, ms: Date.now() - started, queued: this.waiting.length }, 'file verified');
      await this.onResult({ job, mode, fileCheck: { decodesCleanly: check.clean, scope: check.scope } });
    } catch (err) {
      log.warn({ err }, 'file verification failed');
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
