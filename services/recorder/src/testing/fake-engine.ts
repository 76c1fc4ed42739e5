import type { Writable } from 'node:stream';
import type { RecordingReport } from '@recstack/contracts';
import type { Logger, ProcessExit, StopStep } from '@recstack/service-kit';
import type { ChildEvent } from '../engine/child-events.js';
import type { ChildLaunch } from '../engine/engine.js';
import type { RecordingChild } from '../engine/recording-child.js';
import type { FinalizeInput } from '../finalize/finalize-recording.js';
import { buildReport } from '../finalize/recording-report.js';
import type { RecordingJobDeps } from '../recording-job.js';
import type { RecordingPlan } from '../recording-plan.js';

/**
 * A recording child without a process: the test makes it say what a real one says (as child events) and
 * exit; its stop ladder is recorded and answered as the test set it up.
 */
export class FakeChild implements RecordingChild {
  readonly pid = 4242;
  running = true;
  input: string | undefined;
  readonly ladders: StopStep[][] = [];
  /** on stop: 'eos' ends cleanly (EOS, exit 0), 'hang' never exits (the test calls exit()); a kill always ends it */
  onStop: 'eos' | 'hang' = 'eos';
  /** the niceness the job lowered the child to, once it listened */
  loweredBy: number | undefined;
  private readonly lineListeners: Array<(line: string, stream: 'stdout' | 'stderr') => void> = [];
  private readonly exitListeners: Array<(exit: ProcessExit) => void> = [];
  private readonly spawnErrorListeners: Array<(err: Error) => void> = [];
  private exitInfo: ProcessExit | undefined;
  private readonly exited: Promise<ProcessExit>;
  private resolveExit!: (exit: ProcessExit) => void;

  constructor(readonly plan: RecordingPlan) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): void {
    this.lineListeners.push(listener);
  }

  lowerPriority(added: number): void {
    this.loweredBy = added;
  }

  onExit(listener: (exit: ProcessExit) => void): void {
    this.exitListeners.push(listener);
  }

  onSpawnError(listener: (err: Error) => void): void {
    this.spawnErrorListeners.push(listener);
  }

  pipe(): Writable | undefined {
    return undefined;
  }

  endInput(text: string): void {
    this.input = text;
  }

  stop(ladder: readonly StopStep[]): Promise<ProcessExit> {
    this.ladders.push([...ladder]);
    if (this.running && ladder[0]?.action === 'SIGKILL') this.exit({ code: null, signal: 'SIGKILL', unexpected: false });
    if (this.running && this.onStop === 'eos') {
      this.say({ type: 'eos' });
      this.exit({ code: 0, signal: null, unexpected: false });
    }
    return this.exited;
  }

  /** The child prints what the engine's parser turns into `event`. */
  say(event: ChildEvent): void {
    for (const listener of this.lineListeners) listener(JSON.stringify(event), 'stdout');
  }

  exit(exit: ProcessExit): void {
    if (this.exitInfo) return;
    this.exitInfo = exit;
    this.running = false;
    for (const listener of this.exitListeners) listener(exit);
    this.resolveExit(exit);
  }

  failToSpawn(err: Error): void {
    for (const listener of this.spawnErrorListeners) listener(err);
  }
}

/** A launch whose parser reads the fake child's lines back as events. */
export function fakeLaunch(): ChildLaunch {
  return { command: 'fake-recorder', args: [], stdin: 'input', parser: { parse: (line) => [JSON.parse(line) as ChildEvent] }, finalizeSignal: 'SIGINT' };
}

export interface FakeEngine {
  deps: Partial<RecordingJobDeps>;
  children: FakeChild[];
  /** the child of a recording (the last one spawned for it) */
  child(recordingId: string): FakeChild;
  finalized: FinalizeInput[];
  /** ports the next port check calls taken */
  takenPorts: number[];
  /** bytes in each file being written (0 when absent) */
  written: Map<string, number>;
  removed: string[];
  /** when set, finalizing waits for this before it reports */
  finalizeGate: Promise<void> | undefined;
  /** when true, children listen as soon as they are spawned */
  listenAtOnce: boolean;
}

/** Job dependencies with fake children and a fake finalizer (a done report with the file's facts). */
export function fakeEngine(recorderId = 'rcd_test'): FakeEngine {
  const engine: FakeEngine = {
    children: [],
    child(recordingId) {
      const found = engine.children.filter((c) => c.plan.recordingId === recordingId).at(-1);
      if (!found) throw new Error(`no child for ${recordingId}`);
      return found;
    },
    finalized: [],
    takenPorts: [],
    written: new Map(),
    removed: [],
    finalizeGate: undefined,
    listenAtOnce: false,
    deps: {},
  };
  const plans = new WeakMap<ChildLaunch, RecordingPlan>();
  engine.deps = {
    launch: (plan) => {
      const launch = fakeLaunch();
      plans.set(launch, plan);
      return launch;
    },
    spawn: (launch: ChildLaunch, _logger: Logger) => {
      const plan = plans.get(launch);
      if (!plan) throw new Error('spawn of a launch this engine did not make');
      const child = new FakeChild(plan);
      engine.children.push(child);
      if (engine.listenAtOnce) queueMicrotask(() => child.say({ type: 'listening' }));
      return child;
    },
    unbindablePorts: async (ports) => ports.filter((p) => engine.takenPorts.includes(p)),
    writtenBytes: async (path) => engine.written.get(path) ?? 0,
    removeFile: async (path) => void engine.removed.push(path),
    finalize: async (input: FinalizeInput): Promise<RecordingReport> => {
      engine.finalized.push(input);
      if (engine.finalizeGate) await engine.finalizeGate;
      const facts = {
        sizeBytes: 5000,
        durationMs: 8000,
        formatName: input.plan.container,
        tracks: [{ kind: 'video' as const, codec: 'h264', width: 640, height: 360 }],
        encoder: undefined,
      };
      return buildReport({
        plan: input.plan,
        recorderId,
        file: { ok: true, facts },
        decode: undefined,
        finalizeProblem: undefined,
        startedAt: input.startedAt,
        stoppedAt: input.stoppedAt,
        reason: input.reason,
      });
    },
  };
  return engine;
}
