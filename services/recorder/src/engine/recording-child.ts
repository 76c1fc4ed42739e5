import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { Writable } from 'node:stream';
import { SupervisedProcess, type Logger, type ProcessExit, type StopStep } from '@recstack/service-kit';
import { childEnvironment } from './child-env.js';
import type { ChildLaunch } from './engine.js';

/** One recording's child process as the recording job drives it (a real process, or a test's fake). */
export interface RecordingChild {
  readonly pid: number | undefined;
  readonly running: boolean;
  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): void;
  /** the exit, requested or not: an event, never an exception */
  onExit(listener: (exit: ProcessExit) => void): void;
  /** the process could not be spawned at all (it then never exits) */
  onSpawnError(listener: (err: Error) => void): void;
  /** the extra pipe `fd` (AV1 ingest), when the launch asked for one */
  pipe(fd: number): Writable | undefined;
  /** writes the launch's input and closes stdin */
  endInput(text: string): void;
  /** walks the escalation ladder until the child is gone; later calls share the first stop */
  stop(ladder: readonly StopStep[]): Promise<ProcessExit>;
  /** `added` niceness on top of this process's, for every thread the child has now (and so those it starts) */
  lowerPriority(added: number): void;
}

export type SpawnRecordingChild = (launch: ChildLaunch, logger: Logger) => RecordingChild;

/**
 * The real child: its own process group, an allow-listed environment. It starts at the service's own
 * priority (a start is what a user waits for: under load a niced gst-launch took ~1 s to load its plugins and
 * bind its ports) and is put below media's once it listens (`lowerPriority`).
 */
export const spawnRecordingChild: SpawnRecordingChild = (launch, logger) => {
  // its own process group: a Ctrl-C in a terminal reaches the service, which decides how children end
  const stdio = Array.from({ length: launch.av1 ? launch.av1.fd + 1 : 3 }, () => 'pipe' as const);
  const child = new SupervisedProcess(launch.command, [...launch.args], logger, { detached: true, stdio, env: childEnvironment() });
  return {
    get pid() {
      return child.pid;
    },
    get running() {
      return child.running;
    },
    onLine: (listener) => void child.on('line', listener),
    onExit: (listener) => void child.on('exit', listener),
    onSpawnError: (listener) => void child.child.once('error', listener),
    pipe(fd) {
      const pipe = child.child.stdio[fd];
      return pipe && 'write' in pipe ? pipe : undefined;
    },
    endInput: (text) => void child.child.stdin?.end(text),
    stop: (ladder) => child.stop(ladder),
    lowerPriority: (added) => {
      if (child.pid !== undefined && added > 0) lowerThreadPriorities(child.pid, Math.min(19, getPriority() + added), logger);
    },
  };
};

/**
 * Linux keeps a niceness per thread, and a thread starts with its creator's: every thread the child has now
 * is set (twice over, for a thread started while the first pass ran), and those it starts later inherit it.
 * Raising niceness needs no privilege. A child that is gone meanwhile has nothing left to set.
 */
function lowerThreadPriorities(pid: number, nice: number, logger: Logger): void {
  for (let pass = 0; pass < 2; pass++) {
    let tids: number[];
    try {
      tids = readdirSync(`/proc/${pid}/task`).map(Number);
    } catch {
      tids = [pid];
    }
    for (const tid of tids) {
      try {
        setPriority(tid, nice);
      } catch (err) {
        if (pass === 1 && tid === pid) logger.debug({ err, pid }, 'could not lower the recording process priority');
      }
    }
  }
}
