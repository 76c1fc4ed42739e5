import type { Writable } from 'node:stream';
import { SupervisedProcess, type Logger, type ProcessExit, type StopStep } from '@recstack/service-kit';
import { prioritized } from '../finalize/file-probe.js';
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
}

export type SpawnRecordingChild = (launch: ChildLaunch, options: { nice: number }, logger: Logger) => RecordingChild;

/** The real child: its own process group, below media's priority, an allow-listed environment. */
export const spawnRecordingChild: SpawnRecordingChild = (launch, options, logger) => {
  // its own process group: a Ctrl-C in a terminal reaches the service, which decides how children end
  const stdio = Array.from({ length: launch.av1 ? launch.av1.fd + 1 : 3 }, () => 'pipe' as const);
  // below media's priority: a busy machine delays a file's writing, not the packets media must read
  const line = prioritized(launch.command, launch.args, { nice: options.nice });
  const child = new SupervisedProcess(line.command, line.args, logger, { detached: true, stdio, env: childEnvironment() });
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
  };
};
