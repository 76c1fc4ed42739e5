import { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';
import type { ProcessExit, StopStep, SupervisedProcess } from './supervised-process.js';

/** Time, injectable so the restart schedule can be tested without waiting. */
export interface Clock {
  now(): number;
  /** runs `fn` after `ms`; returns a function that cancels it */
  schedule(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface RestartPolicy {
  /** the wait before the first restart */
  initialDelayMs: number;
  /** the longest wait between restarts (it doubles until here) */
  maxDelayMs: number;
  /** a process that ran this long before dying counts as healthy: the next wait is the initial one again */
  stableAfterMs: number;
}

/** Like Kubernetes' CrashLoopBackOff (10 s doubling to 5 min), faster because it runs on a developer's machine. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, stableAfterMs: 60_000 };

/**
 * The restart schedule: waits double with each exit in a row, and start over once a process has run
 * stably for `stableAfterMs`.
 */
export class RestartBackoff {
  private failures = 0;

  constructor(private readonly policy: RestartPolicy) {}

  /** the wait before restarting a process that ran `ranMs` before exiting */
  next(ranMs: number): number {
    if (ranMs >= this.policy.stableAfterMs) this.failures = 0;
    this.failures++;
    return Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** (this.failures - 1));
  }

  /** exits in a row, counting the last one */
  get consecutiveFailures(): number {
    return this.failures;
  }
}

export interface RestartScheduled {
  name: string;
  exit: ProcessExit;
  /** how long the process ran */
  ranMs: number;
  delayMs: number;
  /** restarts so far, this one included */
  restarts: number;
  consecutiveFailures: number;
}

export interface RestartingProcessEvents {
  /** a process was spawned (`restarts` = 0 for the first) */
  started: [{ name: string; pid: number | undefined; restarts: number }];
  restarting: [RestartScheduled];
  line: [line: string, stream: 'stdout' | 'stderr'];
  /** any exit, expected (after stop()) or not */
  exit: [ProcessExit];
}

/**
 * Keeps one service running the way an orchestrator does: when its process exits without being asked to,
 * a new one is spawned after a backoff (logged: which service, exit code or signal, the wait). stop()
 * ends it and cancels a pending restart. `spawn` is called for every start, so each may get its own
 * environment (a fresh instance id, for example).
 */
export class RestartingProcess extends EventEmitter<RestartingProcessEvents> {
  private process: SupervisedProcess | undefined;
  private startedAt = 0;
  private restarts = 0;
  private cancelRestart: (() => void) | undefined;
  private stopped = false;
  private readonly backoff: RestartBackoff;

  constructor(
    readonly name: string,
    private readonly spawn: () => SupervisedProcess,
    private readonly logger: Logger,
    policy: RestartPolicy = DEFAULT_RESTART_POLICY,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.backoff = new RestartBackoff(policy);
  }

  /** the running process, if any (undefined while a restart waits) */
  get current(): SupervisedProcess | undefined {
    return this.process?.running ? this.process : undefined;
  }

  start(): void {
    if (this.stopped || this.process) return;
    this.launch();
  }

  /** Stops the process (walking the ladder) and any restart to come. Idempotent. */
  async stop(ladder: readonly StopStep[]): Promise<ProcessExit | undefined> {
    this.stopped = true;
    this.cancelRestart?.();
    this.cancelRestart = undefined;
    const process = this.process;
    if (!process?.running) return undefined;
    return process.stop(ladder);
  }

  private launch(): void {
    const process = this.spawn();
    this.process = process;
    this.startedAt = this.clock.now();
    process.on('line', (line, stream) => this.emit('line', line, stream));
    process.once('exit', (exit) => this.onExit(process, exit));
    this.emit('started', { name: this.name, pid: process.pid, restarts: this.restarts });
  }

  private onExit(process: SupervisedProcess, exit: ProcessExit): void {
    if (process !== this.process) return;
    this.emit('exit', exit);
    if (this.stopped || !exit.unexpected) return;
    const ranMs = this.clock.now() - this.startedAt;
    const delayMs = this.backoff.next(ranMs);
    this.restarts++;
    const scheduled: RestartScheduled = {
      name: this.name,
      exit,
      ranMs,
      delayMs,
      restarts: this.restarts,
      consecutiveFailures: this.backoff.consecutiveFailures,
    };
    this.logger.warn(
      { service: this.name, code: exit.code, signal: exit.signal, ranMs, restartInMs: delayMs, restarts: this.restarts },
      'service exited unexpectedly, restarting',
    );
    this.emit('restarting', scheduled);
    this.cancelRestart = this.clock.schedule(() => {
      this.cancelRestart = undefined;
      if (!this.stopped) this.launch();
    }, delayMs);
  }
}
