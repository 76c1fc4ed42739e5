import { EventEmitter } from 'node:events';
import { rm, stat } from 'node:fs/promises';
import type { RecordingReport, StopReason } from '@recstack/contracts';
import type { Logger, ProcessExit } from '@recstack/service-kit';
import { Av1Ingest } from './av1/av1-ingest.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import type { ChildEvent } from './engine/child-events.js';
import { IDLE_PROBE_MS, childLaunch, stopLadder, type ChildLaunch, type EngineSettings } from './engine/engine.js';
import { spawnRecordingChild, type RecordingChild, type SpawnRecordingChild } from './engine/recording-child.js';
import { PortInUseError, RecorderFailedError } from './errors.js';
import type { ProbeTools } from './finalize/file-probe.js';
import { finalizeRecording, type FinalizeInput } from './finalize/finalize-recording.js';
import { boundPorts, tracksOf, type RecordingPlan } from './recording-plan.js';
import { unbindablePorts } from './udp-ports.js';

export interface RecordingJobSettings {
  recorderId: string;
  engine: EngineSettings;
  tools: ProbeTools;
  /** wait per stop step (EOS, then SIGTERM) before the next, harsher one */
  stopTimeoutMs: number;
  rtpTimeoutMs: number;
  listenTimeoutMs: number;
  /** free space a finalizing copy must leave (RECORDER_STOP_FREE_BYTES) */
  keepFreeBytes?: number;
  /** the file is verified (decoded) in the background after the report: the report says `pending` */
  verify: boolean;
  /** niceness added to the child (RECORDER_CHILD_NICE): live ingest in media comes first */
  childNice: number;
}

/**
 * What a job does to the world, injected so its state logic runs in unit tests with a fake clock and a fake
 * child; `realJobDeps` is the service's.
 */
export interface RecordingJobDeps {
  clock: Clock;
  /** the child's command line and output parser for the configured engine */
  launch(plan: RecordingPlan): ChildLaunch;
  spawn: SpawnRecordingChild;
  /** which of these UDP ports cannot be bound now */
  unbindablePorts(ports: number[], address: string): Promise<number[]>;
  /** bytes in the file being written, 0 while it does not exist */
  writtenBytes(path: string): Promise<number>;
  removeFile(path: string): Promise<void>;
  /** the file a child left → the report (never rejects) */
  finalize(input: FinalizeInput, log: Logger): Promise<RecordingReport>;
}

export function realJobDeps(settings: RecordingJobSettings): RecordingJobDeps {
  return {
    clock: systemClock,
    launch: (plan) => childLaunch(plan, settings.engine),
    spawn: spawnRecordingChild,
    unbindablePorts,
    writtenBytes: (path) =>
      stat(path).then(
        (s) => s.size,
        () => 0,
      ),
    removeFile: (path) => rm(path, { force: true }),
    finalize: (input, log) =>
      finalizeRecording(
        input,
        {
          recorderId: settings.recorderId,
          ffmpeg: settings.engine.ffmpeg,
          tools: settings.tools,
          ...(settings.keepFreeBytes === undefined ? {} : { keepFreeBytes: settings.keepFreeBytes }),
          verify: settings.verify,
        },
        log,
      ),
  };
}

export interface StopOptions {
  /** absolute time (epoch ms) by which the report must be ready; shortens every step to fit */
  deadline?: number;
}

export type RecordingJobPhase = 'idle' | 'starting' | 'recording' | 'stopping' | 'finished';

export interface RecordingJobEvents {
  'first-keyframe': [at: Date];
  /** `selfInitiated`: the recorder decided (RTP timeout, max duration, child died), nobody asked */
  stopping: [reason: StopReason, selfInitiated: boolean];
  finished: [report: RecordingReport];
}

const OUTPUT_TAIL_LINES = 40;
const LISTEN_PROBE_MS = 50;
const WRITE_PROBE_MS = 50;
/** a silent socket reports every IDLE_PROBE_MS; a longer gap between reports means packets came in between */
const IDLE_GAP_MS = IDLE_PROBE_MS * 1.8;
/** how long an EOS may take when a track never received a packet (it cannot complete; see stopLadder) */
const EOS_WITHOUT_ALL_TRACKS_MS = 1500;
const FINALIZE_BUDGET_MS = 120_000;

/**
 * One recording on this recorder (not the catalog's `Recording`): its child process, from the start request
 * to the report.
 *
 * start(): refuses taken ports at once, spawns the child and resolves when its sockets are bound and its
 * pipeline plays; any failure leaves nothing running and no file. While recording it reports the first
 * keyframe written, and ends on its own when RTP stops on every track or the maximum duration passes.
 * stop(): EOS, then SIGTERM, then SIGKILL on timeouts; the file is finalized and probed (streams, duration,
 * first frame a keyframe), and the report says what is in it; the full decode comes later, in the background. A child that dies is salvaged the same way: an event, never an exception.
 */
export class RecordingJob extends EventEmitter<RecordingJobEvents> {
  readonly requestedAt: Date;
  private phaseValue: RecordingJobPhase = 'idle';
  private child: RecordingChild | undefined;
  private launch: ChildLaunch | undefined;
  private firstKeyframeAt: Date | undefined;
  private keyframeSeen = false;
  private eosSeen = false;
  private childGaveUpOnRtp = false;
  /** per track: when its current silence began, and when its socket last reported it */
  private readonly silentSince = new Map<'video' | 'audio', number>();
  private readonly lastIdleReport = new Map<'video' | 'audio', number>();
  private listeningAt = 0;
  private readonly tail: string[] = [];
  private readonly childErrors: string[] = [];
  private readonly busyPorts = new Set<number>();
  private bindFailed = false;
  private startPromise: Promise<void> | undefined;
  private finishPromise: Promise<RecordingReport> | undefined;
  private listeningWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private maxDurationTimer: Timer | undefined;
  private reportValue: RecordingReport | undefined;
  private av1: Av1Ingest | undefined;
  private readonly log: Logger;
  private readonly deps: RecordingJobDeps;
  private readonly clock: Clock;

  constructor(
    readonly plan: RecordingPlan,
    private readonly settings: RecordingJobSettings,
    logger: Logger,
    deps: Partial<RecordingJobDeps> = {},
  ) {
    super();
    this.deps = { ...realJobDeps(settings), ...deps };
    this.clock = this.deps.clock;
    this.requestedAt = new Date(this.clock.now());
    this.log = logger.child({ recordingId: plan.recordingId, sessionId: plan.sessionId });
  }

  get phase(): RecordingJobPhase {
    return this.phaseValue;
  }

  get report(): RecordingReport | undefined {
    return this.reportValue;
  }

  /** Resolves once listening; rejects with PortInUseError or RecorderFailedError, leaving nothing behind. */
  start(): Promise<void> {
    this.startPromise ??= this.runStart();
    return this.startPromise;
  }

  /** Idempotent: every caller gets the same report. */
  stop(reason: StopReason, options: StopOptions = {}): Promise<RecordingReport> {
    this.finishPromise ??= this.runStop(reason, false, options);
    return this.finishPromise;
  }

  /** The recorder decided a running recording must end (its disk limits): finalized as if it ended by itself. */
  endOnItsOwn(reason: StopReason): void {
    if (this.phaseValue === 'recording') void this.selfStop(reason);
  }

  private async runStart(): Promise<void> {
    this.phaseValue = 'starting';
    const ports = boundPorts(this.plan);
    const taken = await this.deps.unbindablePorts(ports, this.plan.bindAddress);
    if (taken.length > 0) {
      this.phaseValue = 'finished';
      throw new PortInUseError(taken);
    }
    const launch = this.deps.launch(this.plan);
    this.launch = launch;
    if (launch.av1) {
      try {
        this.av1 = await Av1Ingest.open({
          address: this.plan.bindAddress,
          port: launch.av1.port,
          payloadType: launch.av1.payloadType,
          idleProbeMs: IDLE_PROBE_MS,
          onIdle: () => this.handle({ type: 'rtp-idle', track: 'video' }),
          logger: this.log,
        });
      } catch (err) {
        this.phaseValue = 'finished';
        throw err;
      }
    }
    const listening = new Promise<void>((resolve, reject) => (this.listeningWaiter = { resolve, reject }));
    const child = this.deps.spawn(launch, this.log);
    this.child = child;
    if (launch.av1) {
      const pipe = child.pipe(launch.av1.fd);
      if (pipe) this.av1?.attach(pipe);
    }
    child.onLine((line, stream) => this.onLine(line, stream));
    child.onExit((exit) => this.onExit(exit));
    child.onSpawnError((err) => this.listeningWaiter?.reject(new RecorderFailedError('the recording process could not be started', { cause: err })));
    child.endInput(launch.stdin);
    this.log.info({ engine: this.plan.engine, childPid: child.pid, ports, file: this.plan.fileName }, 'recording process started');
    if (launch.listeningProbe) void this.probeListening(launch.listeningProbe);
    const timer = this.clock.after(this.settings.listenTimeoutMs, () =>
      this.listeningWaiter?.reject(new RecorderFailedError(`the recording process did not listen within ${this.settings.listenTimeoutMs} ms`)),
    );
    try {
      await listening;
    } catch (err) {
      this.log.warn({ err, output: this.tail.slice(-15) }, 'recording process did not start');
      // a child that never spawned emits no exit: do not wait for one forever
      await Promise.race([child.stop([{ action: 'SIGKILL', waitMs: 2000 }]), this.clock.sleep(3000)]);
      this.av1?.close();
      await this.deps.removeFile(this.plan.writePath);
      this.phaseValue = 'finished';
      throw err;
    } finally {
      timer.cancel();
      this.listeningWaiter = undefined;
    }
    // started at full priority (a user waits for the start); while it records, media's packets come first
    child.lowerPriority(this.settings.childNice);
    this.phaseValue = 'recording';
    this.listeningAt = this.clock.now();
    // audio has no keyframes: its first frame is written when the muxer starts the file
    if (!this.plan.video) this.handle({ type: 'keyframe', track: 'audio' });
    this.maxDurationTimer = this.clock.after(this.plan.maxDurationMs, () => void this.selfStop('max-duration'));
    this.log.info({ ms: this.clock.now() - this.requestedAt.getTime() }, 'recording listening');
  }

  private async probeListening(probe: (pid: number) => Promise<boolean>): Promise<void> {
    while (this.phaseValue === 'starting' && this.child?.running) {
      const pid = this.child.pid;
      if (pid !== undefined && (await probe(pid))) {
        this.handle({ type: 'listening' });
        return;
      }
      await this.clock.sleep(LISTEN_PROBE_MS);
    }
  }

  private onLine(line: string, stream: 'stdout' | 'stderr'): void {
    this.tail.push(line);
    if (this.tail.length > OUTPUT_TAIL_LINES) this.tail.shift();
    const parser = this.launch?.parser;
    if (!parser) return;
    for (const event of parser.parse(line, stream)) this.handle(event);
  }

  private handle(event: ChildEvent): void {
    switch (event.type) {
      case 'listening':
        this.listeningWaiter?.resolve();
        return;
      case 'keyframe':
        if (this.keyframeSeen || this.phaseValue === 'finished') return;
        this.keyframeSeen = true;
        void this.confirmWritten(event.track);
        return;
      case 'rtp-idle': {
        const now = this.clock.now();
        const last = this.lastIdleReport.get(event.track);
        if (last === undefined || now - last > IDLE_GAP_MS) this.silentSince.set(event.track, now - IDLE_PROBE_MS);
        this.lastIdleReport.set(event.track, now);
        this.checkRtpTimeout();
        return;
      }
      case 'rtp-timeout':
        this.childGaveUpOnRtp = true;
        return;
      case 'port-in-use':
        this.bindFailed = true;
        if (event.port !== undefined) this.busyPorts.add(event.port);
        this.listeningWaiter?.reject(new PortInUseError(this.busyPorts.size > 0 ? [...this.busyPorts] : boundPorts(this.plan)));
        return;
      case 'error':
        if (this.childErrors.length < 10) this.childErrors.push(event.message);
        this.log.warn({ childError: event.message }, 'recording process reported an error');
        return;
      case 'eos':
        this.eosSeen = true;
        return;
    }
  }

  /**
   * The first keyframe reached the muxer; it is written once the muxer has started the file, which it does
   * when every track has delivered data (a track that never receives a packet holds the file back).
   */
  private async confirmWritten(track: 'video' | 'audio'): Promise<void> {
    while (this.phaseValue === 'starting' || this.phaseValue === 'recording') {
      const size = await this.deps.writtenBytes(this.plan.writePath);
      if (size > 0) {
        this.firstKeyframeAt = new Date(this.clock.now());
        this.log.info({ track, ms: this.firstKeyframeAt.getTime() - this.requestedAt.getTime() }, 'first keyframe written');
        this.emit('first-keyframe', this.firstKeyframeAt);
        return;
      }
      await this.clock.sleep(WRITE_PROBE_MS);
    }
  }

  /** How long a track has been silent (0 when packets are arriving). */
  private silenceMs(track: 'video' | 'audio', now: number): number {
    const last = this.lastIdleReport.get(track);
    const since = this.silentSince.get(track);
    if (last === undefined || since === undefined || now - last > IDLE_GAP_MS) return 0;
    return now - since;
  }

  /** RTP has stopped when every track has been silent for the timeout. */
  private checkRtpTimeout(): void {
    if (this.phaseValue !== 'recording') return;
    const now = this.clock.now();
    if (tracksOf(this.plan).every((t) => this.silenceMs(t.kind, now) >= this.settings.rtpTimeoutMs)) void this.selfStop('rtp-timeout');
  }

  /** A track whose socket has been silent since the recording began has never received a packet. */
  private someTrackNeverReceived(): boolean {
    if (this.plan.engine !== 'gstreamer') return false;
    const now = this.clock.now();
    return tracksOf(this.plan).some((t) => {
      const silence = this.silenceMs(t.kind, now);
      return silence > 0 && now - silence <= this.listeningAt + IDLE_PROBE_MS;
    });
  }

  private selfStop(reason: StopReason): Promise<RecordingReport> {
    if (this.phaseValue === 'recording') this.log.info({ reason }, 'recording ends on its own');
    this.finishPromise ??= this.runStop(reason, true, {});
    return this.finishPromise;
  }

  private onExit(exit: ProcessExit): void {
    this.av1?.close();
    if (this.phaseValue === 'starting') {
      const err = this.bindFailed
        ? new PortInUseError(this.busyPorts.size > 0 ? [...this.busyPorts] : boundPorts(this.plan))
        : new RecorderFailedError('the recording process exited before it was listening', { cause: { exit, errors: this.childErrors } });
      this.listeningWaiter?.reject(err);
      return;
    }
    if (this.phaseValue !== 'recording') return;
    // nobody asked it to end: RTP timeout inside the child (FFmpeg), or a crash; the file is salvaged
    const reason: StopReason = this.childGaveUpOnRtp ? 'rtp-timeout' : 'error';
    if (reason === 'error') this.log.error({ exit, errors: this.childErrors, output: this.tail.slice(-15) }, 'recording process exited unexpectedly');
    this.finishPromise ??= this.runStop(reason, true, {}, exit);
  }

  private async runStop(reason: StopReason, selfInitiated: boolean, options: StopOptions, exited?: ProcessExit): Promise<RecordingReport> {
    if (this.phaseValue === 'starting') await this.startPromise?.catch(() => undefined);
    if (this.phaseValue === 'finished' && !this.reportValue) throw new RecorderFailedError('the recording never started');
    if (this.reportValue) return this.reportValue;
    this.phaseValue = 'stopping';
    this.maxDurationTimer?.cancel();
    const stopRequestedAt = this.clock.now();
    this.emit('stopping', reason, selfInitiated);
    const deadline = options.deadline;
    const budget = (share: number, wanted: number) =>
      deadline === undefined ? wanted : Math.max(0, Math.min(wanted, Math.round((deadline - this.clock.now()) * share)));

    let exit = exited;
    if (!exit && this.child && this.launch) {
      const stepMs = Math.max(500, budget(0.35, this.settings.stopTimeoutMs));
      const eosMs = this.someTrackNeverReceived() ? EOS_WITHOUT_ALL_TRACKS_MS : stepMs;
      exit = await this.child.stop(stopLadder(this.launch, stepMs, eosMs));
    }
    const stoppedAt = new Date(this.clock.now());
    this.log.info({ reason, exit, eos: this.eosSeen, ms: stoppedAt.getTime() - stopRequestedAt }, 'recording process ended');
    const report = await this.deps.finalize(
      {
        plan: this.plan,
        reason,
        startedAt: this.firstKeyframeAt,
        stoppedAt,
        endedCleanly: this.eosSeen || (this.plan.engine === 'ffmpeg' && exit?.code === 0),
        budgetMs: Math.max(1000, budget(0.5, FINALIZE_BUDGET_MS)),
      },
      this.log,
    );
    this.reportValue = report;
    this.phaseValue = 'finished';
    this.log.info(
      {
        status: report.status,
        reason,
        durationMs: report.durationMs,
        sizeBytes: report.sizeBytes,
        decodesCleanly: report.decodesCleanly,
        error: report.error,
        ms: this.clock.now() - stopRequestedAt,
      },
      'recording finished',
    );
    this.emit('finished', report);
    return report;
  }
}
