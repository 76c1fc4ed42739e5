import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from './logger.js';

export interface StopStep {
  /** what to do: a signal, or 'stdin-close' to end input (FFmpeg finalizes on 'q' or end of stdin) */
  action: NodeJS.Signals | { write: string };
  /** how long to wait for the exit before the next step */
  waitMs: number;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** true when the exit was not requested by stop() */
  unexpected: boolean;
}

export interface SupervisedProcessEvents {
  exit: [ProcessExit];
  line: [line: string, stream: 'stdout' | 'stderr'];
}

/**
 * A child process owned by a parent. Its exit, expected or not, is an event rather than an exception;
 * stop() walks an escalation ladder (for example SIGINT → SIGTERM → SIGKILL) and resolves once the
 * child is gone. Output is delivered line by line.
 */
export class SupervisedProcess extends EventEmitter<SupervisedProcessEvents> {
  readonly child: ChildProcess;
  private exitInfo: ProcessExit | undefined;
  private readonly exited: Promise<ProcessExit>;
  private stopRequested = false;
  private stopping: Promise<ProcessExit> | undefined;

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    private readonly logger: Logger,
    options: SpawnOptions = {},
  ) {
    super();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.logger.error({ err, command }, 'process failed to start');
      });
      this.child.once('close', (code, signal) => {
        this.exitInfo = { code, signal, unexpected: !this.stopRequested };
        this.emit('exit', this.exitInfo);
        resolve(this.exitInfo);
      });
    });
    this.splitLines(this.child.stdout, 'stdout');
    this.splitLines(this.child.stderr, 'stderr');
    // a closed stdin pipe must not crash the parent with EPIPE
    this.child.stdin?.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  wait(): Promise<ProcessExit> {
    return this.exited;
  }

  /** Walks the escalation ladder until the process exits. Idempotent: later calls share the first stop. */
  stop(ladder: readonly StopStep[]): Promise<ProcessExit> {
    this.stopRequested = true;
    this.stopping ??= this.escalate(ladder);
    return this.stopping;
  }

  private async escalate(ladder: readonly StopStep[]): Promise<ProcessExit> {
    for (const step of ladder) {
      if (this.exitInfo) return this.exitInfo;
      this.apply(step.action);
      const exit = await Promise.race([this.exited, delay(step.waitMs, undefined, { ref: false })]);
      if (exit) return exit;
      this.logger.warn(
        { command: this.command, pid: this.pid, action: describe(step.action), waitMs: step.waitMs },
        'process did not exit in time, escalating',
      );
    }
    if (!this.exitInfo) this.apply('SIGKILL');
    return this.exited;
  }

  private apply(action: StopStep['action']): void {
    if (typeof action === 'string') {
      if (this.exitInfo === undefined) this.child.kill(action);
    } else if (this.child.stdin && !this.child.stdin.destroyed) {
      this.child.stdin.write(action.write);
    }
  }

  private splitLines(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      let index = buffered.search(/[\r\n]/);
      while (index >= 0) {
        const line = buffered.slice(0, index);
        buffered = buffered.slice(index + 1);
        if (line.length > 0) this.emit('line', line, name);
        index = buffered.search(/[\r\n]/);
      }
      // a child that never prints a newline must not grow our memory without bound
      if (buffered.length > 64 * 1024) buffered = buffered.slice(-16 * 1024);
    });
    stream.on('end', () => {
      if (buffered.length > 0) this.emit('line', buffered, name);
      buffered = '';
    });
  }
}

function describe(action: StopStep['action']): string {
  return typeof action === 'string' ? action : 'write';
}
