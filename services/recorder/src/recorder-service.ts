import type { NatsConnection, Subscription } from 'nats';
import {
  rpc,
  type Recording as CatalogRecording,
  type RecorderListening,
  type RecorderLost,
  type RecorderPong,
  type RecorderStartRequest,
  type RecorderStopRequest,
  type RecordingReport,
  type Segment,
} from '@recstack/contracts';
import { claimRecording, markFirstKeyframe, markStopping, markStored } from '@recstack/catalog';
import { ShuttingDownError, errorCodeOf, gather, serve, type Logger } from '@recstack/service-kit';
import type { Admission } from './admission/admission.js';
import { systemClock, type Clock } from './clock.js';
import { AtCapacityError, NoSuchRecordingError, RecordingConflictError } from './errors.js';
import { natsRecorderEvents, type RecorderEvents } from './recorder-events.js';
import type { RecorderMetrics } from './recorder-metrics.js';
import { RecordingFinisher, type CatalogWriter } from './recording-finisher.js';
import { RecordingJob, type RecordingJobDeps, type RecordingJobSettings } from './recording-job.js';
import { planRecording, tracksOf, type PlanSettings, type RecordingPlan } from './recording-plan.js';
import { RecordingRegistry } from './recording-registry.js';
import { salvageRecording, type SalvageEntry, type SalvageSettings } from './recovery/salvage.js';
import { joinSegments, type SegmentSource } from './segments/join-segments.js';
import { assertRoomToStart, type DiskLimits } from './storage/disk-space.js';
import { DiskWatch } from './storage/disk-watch.js';
import type { RecordingStorage, StoredFile } from './storage/recording-storage.js';
import type { VerificationQueue, VerificationResult } from './verification/verification-queue.js';

export type { CatalogWriter } from './recording-finisher.js';

export interface RecorderServiceOptions {
  recorderId: string;
  host: string;
  plan: PlanSettings;
  recording: RecordingJobSettings;
  salvage: SalvageSettings;
  /** free-space floors and the file size limit in the recordings folder (plan.recordingsDir) */
  disk: DiskLimits;
}

/** The storage as the service uses it (RecordingStorage). */
export type ServiceStorage = Pick<
  RecordingStorage,
  | 'kind'
  | 'pendingIds'
  | 'isPending'
  | 'place'
  | 'localPath'
  | 'discardLocal'
  | 'discardObject'
  | 'resume'
  | 'close'
  | 'placeSegment'
  | 'segmentSize'
  | 'fetchSegment'
  | 'discardSegment'
>;
export type ServiceVerification = Pick<VerificationQueue, 'enqueue' | 'settled' | 'close' | 'hold'>;

/** What the service's state logic needs from outside besides NATS subscriptions; real ones by default. */
export interface RecorderServiceDeps {
  clock?: Clock;
  events?: RecorderEvents;
  /** passed to every recording job (with the clock) */
  job?: Partial<RecordingJobDeps>;
}

/** How often running recordings' disk use is looked at. */
const DISK_WATCH_INTERVAL_MS = 1000;

/** How long a handed-over segment's upload is tried (STORAGE=nats) outside a shutdown, whose deadline rules then. */
const SEGMENT_UPLOAD_WAIT_MS = 20_000;

/**
 * The recorder's NATS face: `recorder.v1.start` (queue group), `recorder.v1.<id>.stop`, `recorder.v1.ping`.
 * Admits starts by cost (admission/), runs each recording as a job (recording-job.ts) kept in the registry
 * (recording-registry.ts), publishes each recording's events and state changes, and hands every report to the
 * finisher (recording-finisher.ts: storage, catalog, `finished`, verification).
 */
export class RecorderService {
  private readonly registry = new RecordingRegistry();
  private readonly finisher: RecordingFinisher;
  private readonly events: RecorderEvents;
  private readonly clock: Clock;
  private readonly subs: Subscription[] = [];
  /** segment files left by a dead predecessor that are being finalized (and with STORAGE=nats uploaded) */
  private readonly segmentsInFlight = new Map<string, Promise<void>>();
  /** the shutdown's end, once known: it bounds the uploads of handed-over segments (STORAGE=nats) */
  private deadline: number | undefined;
  /** the start subjects (queue group and this recorder's own): dropped first at shutdown */
  private startSubs: Subscription[] = [];
  private accepting = true;
  private readonly diskWatch: DiskWatch;

  constructor(
    private readonly nc: NatsConnection,
    private readonly catalog: CatalogWriter,
    private readonly options: RecorderServiceOptions,
    private readonly metrics: RecorderMetrics,
    private readonly logger: Logger,
    private readonly storage: ServiceStorage,
    private readonly admission: Admission,
    private readonly verification: ServiceVerification,
    private readonly deps: RecorderServiceDeps = {},
  ) {
    this.clock = deps.clock ?? systemClock;
    this.events = deps.events ?? natsRecorderEvents(nc, logger);
    this.finisher = new RecordingFinisher({
      recorderId: options.recorderId,
      catalog,
      storage,
      verification,
      events: this.events,
      registry: this.registry,
      metrics,
      clock: this.clock,
      logger,
    });
    this.diskWatch = new DiskWatch(
      { ...options.disk, dir: options.plan.recordingsDir, intervalMs: DISK_WATCH_INTERVAL_MS },
      () => this.registry.runningJobs().map((r) => ({ recordingId: r.plan.recordingId, path: r.plan.writePath, end: (reason) => r.endOnItsOwn(reason) })),
      logger.child({ component: 'disk-watch' }),
    );
  }

  get recorderId(): string {
    return this.options.recorderId;
  }

  get activeCount(): number {
    return this.registry.runningCount;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  listen(): void {
    const { recorderId } = this.options;
    const start = (req: RecorderStartRequest) => this.start(req);
    this.startSubs = [
      serve(this.nc, rpc.recorder.start, start, { logger: this.logger }),
      serve(this.nc, rpc.recorder.startOn, start, { id: recorderId, logger: this.logger }),
    ];
    this.subs.push(
      ...this.startSubs,
      serve(this.nc, rpc.recorder.stop, (req) => this.stop(req), { id: recorderId, logger: this.logger }),
      serve(this.nc, rpc.recorder.ping, async () => this.pong(), { logger: this.logger }),
      serve(this.nc, rpc.recorder.pingOne, async () => this.pong(), { id: recorderId, logger: this.logger }),
    );
    this.diskWatch.start();
  }

  async start(req: RecorderStartRequest): Promise<RecorderListening> {
    if (!this.accepting) throw new ShuttingDownError();
    // before the checks below, which must stay in one synchronous piece with the registration (MAX_RECORDINGS);
    // a retried request for a running recording is answered whatever the disk says
    if (!this.registry.running(req.recordingId)) await assertRoomToStart(this.options.plan.recordingsDir, this.options.disk);
    const existing = this.registry.running(req.recordingId);
    if (existing) {
      // a retried request (the reply was lost) gets the same answer; a different one is a conflict
      if (!sameTracks(existing.plan, req)) throw new RecordingConflictError(req.recordingId);
      await existing.start();
      return this.listeningReply(existing);
    }
    if (this.registry.knows(req.recordingId)) throw new RecordingConflictError(req.recordingId);
    const plan = planRecording(req, this.options.plan);
    try {
      this.admission.admit(req);
    } catch (err) {
      if (err instanceof AtCapacityError) {
        this.metrics.refused.inc({ limit: err.limit });
        this.logger.info({ recordingId: req.recordingId, limit: err.limit, reason: err.message }, 'start refused');
      }
      throw err;
    }
    const job = new RecordingJob(plan, this.options.recording, this.logger, { ...this.deps.job, clock: this.clock });
    this.registry.addRunning(job);
    this.metrics.active.set(this.registry.runningCount);
    this.wire(job);
    const verificationWaits = this.verification.hold();
    try {
      await job.start();
    } catch (err) {
      this.admission.release(plan.recordingId);
      this.registry.removeRunning(plan.recordingId);
      this.metrics.active.set(this.registry.runningCount);
      this.metrics.failed.inc({ stage: 'start', code: errorCodeOf(err) ?? 'INTERNAL' });
      throw err;
    } finally {
      verificationWaits();
    }
    this.metrics.started.inc();
    this.events.recording({ type: 'listening', recordingId: plan.recordingId, recorderId: this.options.recorderId, at: this.isoNow() });
    return this.listeningReply(job);
  }

  /** Answers with the final report: after the file is where the storage setting puts it and the catalog says so. */
  async stop(req: RecorderStopRequest): Promise<RecordingReport> {
    const job = this.registry.running(req.recordingId);
    if (job && req.handover) {
      // the recording goes on elsewhere: this segment's file is finalized (and with STORAGE=nats put into the
      // object store for the joiner), nothing else is said about it
      this.registry.markHandedOver(req.recordingId);
      const report = await job.stop(req.reason);
      return (await this.registry.finishing(req.recordingId)) ?? report;
    }
    if (job) {
      const report = await job.stop(req.reason);
      return (await this.registry.finishing(req.recordingId)) ?? this.registry.recentReport(req.recordingId) ?? report;
    }
    const final = this.registry.finishing(req.recordingId);
    if (final) return final;
    const report = this.registry.recentReport(req.recordingId);
    if (report) return report;
    throw new NoSuchRecordingError(req.recordingId);
  }

  pong(): RecorderPong {
    return {
      recorderId: this.options.recorderId,
      engine: this.options.plan.engine,
      host: this.options.host,
      active: this.registry.runningCount,
      capacity: this.admission.settings.maxRecordings,
      recordings: this.heldIds(),
      ...this.admission.pongFields(),
    };
  }

  /** Recordings this instance is responsible for now: running, finishing, being salvaged, uploads pending. */
  heldIds(): string[] {
    return [...new Set([...this.registry.heldIds(), ...this.storage.pendingIds])];
  }

  holds(recordingId: string): boolean {
    return this.registry.holds(recordingId) || this.storage.isPending(recordingId);
  }

  /**
   * Takes over a recording whose recorder died and finalizes what it left here (its orphaned child already
   * stopped): claims the catalog entry (compare-and-set on its recorder id, so of two recorders only one
   * proceeds), salvages the file, stores it, writes the report and publishes `finished`. Undefined when
   * another recorder claimed it first or this one already holds it. `entry` undefined: no catalog entry
   * (the file is finalized all the same; nobody is told but the events).
   */
  async adopt(entry: CatalogRecording | undefined, standIn?: SalvageEntry): Promise<RecordingReport | undefined> {
    const target = entry ?? standIn;
    if (!target || this.holds(target.id) || !this.accepting) return undefined;
    const log = this.logger.child({ recordingId: target.id, sessionId: target.sessionId });
    const work = (async () => {
      if (entry) {
        const claimed = await this.catalog.update(entry.id, (r) => claimRecording(r, entry.recorderId, this.options.recorderId, new Date(this.clock.now())));
        if (claimed && claimed.recorderId !== this.options.recorderId) {
          log.info({ by: claimed.recorderId }, 'recording claimed by another recorder');
          return undefined;
        }
      }
      log.info({ previousRecorderId: entry?.recorderId, status: entry?.status }, 'salvaging a recording whose recorder is gone');
      const report = await salvageRecording(target, this.options.salvage, this.logger);
      this.metrics.finished.inc({ status: report.status, reason: report.reason });
      if (report.status === 'done') this.metrics.bytesWritten.inc(report.sizeBytes);
      return this.finisher.finish(report, { salvaged: true });
    })();
    const tracked = work.then((report) => report ?? Promise.reject(new NoSuchRecordingError(target.id)));
    tracked.catch(() => undefined);
    this.registry.trackFinishing(target.id, tracked);
    return work;
  }

  /**
   * A finished recording whose file is still here although STORAGE=nats (an upload a predecessor did not
   * finish): claims it and uploads it in the background.
   */
  async resumeUpload(entry: CatalogRecording): Promise<void> {
    if (this.storage.kind !== 'nats' || this.holds(entry.id)) return;
    const claimed = await this.catalog.update(entry.id, (r) => claimRecording(r, entry.recorderId, this.options.recorderId, new Date(this.clock.now())));
    if (!claimed || claimed.recorderId !== this.options.recorderId) return;
    this.logger.info({ recordingId: entry.id, sessionId: entry.sessionId }, 'resuming the upload of a finished recording');
    this.storage.resume({ recordingId: entry.id, sessionId: entry.sessionId, fileName: entry.fileName });
  }

  /**
   * STORAGE=nats: a segment of a recording that goes on on another recorder, left in this folder by a
   * predecessor that died (a restarted container keeps its pod's disk): finalized like any salvage and put
   * into the object store, where the recorder that ends the recording fetches it for the join. The entry
   * stays the other recorder's: nothing is written to the catalog.
   */
  async handOverLeftSegment(entry: CatalogRecording, segment: Segment): Promise<void> {
    if (this.storage.kind !== 'nats' || this.holds(entry.id)) return;
    await this.finalizeSegment(entry, segment.file);
  }

  /**
   * A segment file a dead recorder left in this folder (its orphaned child stopped, or dead too): finalized
   * like any salvage, in place, where the joiner (the recorder holding the last segment) takes it; with
   * STORAGE=nats put into the object store, where that recorder fetches it. The recording goes on: nothing
   * is written to the catalog. This recorder may hold the recording again meanwhile (a restart with the
   * same id that took the handover): its join waits for this.
   */
  finalizeSegment(entry: CatalogRecording, file: string): Promise<void> {
    const running = this.segmentsInFlight.get(file);
    if (running) return running;
    const work = this.salvageSegment(entry, file).finally(() => this.segmentsInFlight.delete(file));
    this.segmentsInFlight.set(file, work);
    return work;
  }

  /** `recorder.v1.lost`: media hands these recordings of a dead recorder over without waiting for missed pings. */
  announceLost(recorderId: string, recordings: RecorderLost['recordings']): boolean {
    return this.events.lost({ recorderId, recordings, reportedBy: this.options.recorderId });
  }

  private async salvageSegment(entry: CatalogRecording, file: string): Promise<void> {
    const segment = entry.segments?.find((s) => s.file === file);
    const log = this.logger.child({ recordingId: entry.id, sessionId: entry.sessionId, segment: file });
    try {
      log.info({ previousRecorderId: segment?.recorderId ?? entry.recorderId }, 'salvaging the segment of a recording that goes on');
      const salvaged = await salvageRecording(
        {
          id: entry.id,
          sessionId: entry.sessionId,
          container: entry.container,
          audioCodec: entry.audioCodec,
          fileName: file,
          startedAt: segment ? segment.startedAt : entry.startedAt,
        },
        { ...this.options.salvage, verify: false },
        log,
      );
      if (salvaged.status !== 'done') {
        log.warn({ error: salvaged.error }, 'segment not salvaged: the joiner will miss it');
        return;
      }
      log.info({ durationMs: salvaged.durationMs }, 'segment salvaged');
      await this.placeSegment(salvaged);
    } catch (err) {
      log.error({ err }, 'salvaging the segment failed');
    }
  }

  /** The catalog's side of a background upload that verified (see RecordingStorage). */
  async onUploaded(file: StoredFile): Promise<'kept' | 'gone'> {
    const stored = await this.catalog.update(file.recordingId, (r) => markStored(r, file.fileName, 'nats', new Date(this.clock.now())));
    if (!stored) return 'gone';
    if (stored.storage !== 'nats') throw new Error(`catalog entry of ${file.recordingId} does not take the new storage`);
    const report = this.registry.recentReport(file.recordingId);
    if (report) this.registry.remember({ ...report, storage: 'nats' });
    return 'kept';
  }

  /** The handler the verification queue reports to (main wires it; the queue exists before the service). */
  readonly verified = (result: VerificationResult): Promise<void> => this.finisher.verified(result);

  /**
   * Shutdown: take no new work (other recorders in the queue group get it), then finalize every active
   * recording in parallel so that all reports are out before `deadline`.
   */
  async drain(deadline: number): Promise<void> {
    this.deadline = deadline;
    this.accepting = false;
    for (const sub of this.startSubs) sub.unsubscribe();
    const active = this.registry.runningJobs();
    if (active.length > 0) this.logger.info({ count: active.length }, 'finalizing active recordings');
    this.finisher.finishBy(deadline);
    // verification is forgotten, not resumed: queued files stay unverified (fileCheck null), and a running
    // decode is killed, not waited for
    this.verification.close();
    await Promise.all(
      active.map((r) =>
        r.stop('shutdown', { deadline }).catch((err: unknown) => this.logger.error({ err, recordingId: r.plan.recordingId }, 'recording did not finalize')),
      ),
    );
    // uploads, catalog writes and events of the last reports are in flight: let them reach the server
    await Promise.race([Promise.allSettled(this.registry.finishingReports()), this.clock.sleep(Math.max(0, deadline - this.clock.now()))]);
    await this.finisher.writesSettled();
    await this.storage.close(deadline);
    await this.events.flush();
  }

  /** Idempotent. */
  close(): void {
    this.diskWatch.close();
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
  }

  /**
   * RECORDER_DRAIN=handover: takes no new work and asks media to move every running recording to another
   * recorder (`recorder.v1.draining`); media starts each one elsewhere, then stops it here with `handover`.
   * Resolves when none is left here or after `waitMs`; what is left is finished by `drain` as before.
   * `deadline`: the shutdown's end, which bounds the segments' uploads (STORAGE=nats).
   * Nothing is announced when no other recorder has room: the recordings are finished here then.
   */
  async handOver(waitMs: number, deadline?: number): Promise<void> {
    const ids = this.registry.runningIds();
    if (ids.length === 0) return;
    // the uploads of the segments handed over (STORAGE=nats) may take until the shutdown's end
    if (deadline !== undefined) this.deadline = deadline;
    this.accepting = false;
    for (const sub of this.startSubs) sub.unsubscribe();
    const pongs = await gather(this.nc, rpc.recorder.ping, {}, 500).catch(() => []);
    const room = pongs.some((p) => p.recorderId !== this.options.recorderId && p.active < p.capacity);
    if (!room) {
      this.logger.warn({ count: ids.length }, 'no other recorder has room, finishing the recordings here');
      return;
    }
    const empty = this.registry.whenEmpty();
    if (!this.events.draining({ recorderId: this.options.recorderId, recordingIds: ids })) return;
    this.logger.info({ count: ids.length }, 'draining: recordings handed over to other recorders');
    await Promise.race([empty, this.clock.sleep(waitMs)]);
    if (this.registry.runningCount > 0)
      this.logger.warn({ left: this.registry.runningCount }, 'not every recording was handed over in time, finishing the rest');
  }

  private wire(job: RecordingJob): void {
    const id = job.plan.recordingId;
    let stoppingAt = 0;
    job.on('first-keyframe', (at) => {
      this.metrics.startToFirstKeyframe.observe((at.getTime() - job.requestedAt.getTime()) / 1000);
      this.events.recording({ type: 'first-keyframe', recordingId: id, recorderId: this.options.recorderId, at: at.toISOString() });
      void this.finisher.writeCatalog(id, (r) => markFirstKeyframe(r, at));
    });
    job.on('stopping', (reason, selfInitiated) => {
      stoppingAt = this.clock.now();
      if (this.registry.isHandedOver(id)) return;
      // the stop's decider writes `stopping`: whoever asked announced it; a `shutdown` is ours only while we shut
      // down (media's own shutdown asks with that reason too, and writes it itself)
      if (!selfInitiated && !(reason === 'shutdown' && !this.accepting)) return;
      const at = new Date(this.clock.now());
      this.events.recording({ type: 'stopping', recordingId: id, reason, at: at.toISOString() });
      void this.finisher.writeCatalog(id, (r) => markStopping(r, reason, at));
    });
    job.on('finished', (report) => {
      this.metrics.finished.inc({ status: report.status, reason: report.reason });
      if (report.status === 'failed') this.metrics.failed.inc({ stage: 'finish', code: report.error?.code ?? 'INTERNAL' });
      this.metrics.bytesWritten.inc(report.sizeBytes);
      if (this.registry.takeHandedOver(id)) {
        // a segment handed over: the stop's reply carries its report to media, the recording is not over.
        // Registered before the recording leaves the running set, so a drain waits for the upload too
        this.registry.trackFinishing(id, this.placeSegment(report));
        this.admission.release(id);
        this.registry.removeRunning(id);
        this.metrics.active.set(this.registry.runningCount);
        this.logger.info({ recordingId: id, durationMs: report.durationMs, fileName: report.fileName }, 'segment handed over');
        return;
      }
      // the final steps are registered before the recording leaves the running set: a stop in between
      // always finds one of them
      const previous = job.plan.previousSegments;
      const final = previous
        ? this.joining(report, job.plan, previous).then((joined) => this.finisher.finish(joined, { salvaged: false }))
        : this.finisher.finish(report, { salvaged: false });
      this.registry.trackFinishing(id, final);
      // the child has exited and the file is final: what is left (upload, verification) is not counted as load
      this.admission.release(id);
      this.registry.removeRunning(id);
      this.metrics.active.set(this.registry.runningCount);
      void final.finally(() => {
        if (stoppingAt > 0) this.metrics.stopToFinalized.observe((this.clock.now() - stoppingAt) / 1000);
      });
    });
  }

  /** The last segment of a handed-over recording ended: the segments become the one file (never rejects). */
  /**
   * A segment handed over with STORAGE=nats goes into the object store, where the recorder that joins the
   * segments fetches it (this recorder's disk is not its disk). Never rejects: a segment not uploaded stays
   * here, and the joiner declares its time a gap.
   */
  private async placeSegment(report: RecordingReport): Promise<RecordingReport> {
    if (this.storage.kind !== 'nats' || report.status !== 'done') return report;
    const deadline = this.deadline ?? this.clock.now() + SEGMENT_UPLOAD_WAIT_MS;
    const uploaded = await this.storage.placeSegment(report, deadline).catch((err: unknown) => {
      this.logger.error({ err, recordingId: report.recordingId }, 'segment upload failed');
      return false;
    });
    if (!uploaded) this.logger.warn({ recordingId: report.recordingId, fileName: report.fileName }, 'segment not in the object store: the joiner will miss it');
    return report;
  }

  private async joining(report: RecordingReport, plan: RecordingPlan, previous: NonNullable<RecordingPlan['previousSegments']>): Promise<RecordingReport> {
    try {
      // an earlier segment this recorder is still finalizing (its own predecessor's, after a restart)
      await Promise.all(previous.map((s) => this.segmentsInFlight.get(s.file) ?? Promise.resolve()));
      return await joinSegments(report, plan, previous, this.options.salvage, this.logger, this.segmentSource());
    } catch (err) {
      this.logger.error({ err, recordingId: report.recordingId }, 'joining the segments failed');
      return report;
    }
  }
  /** Where the joiner finds segments this recorder's disk lacks (STORAGE=nats), and drops them once joined. */
  private segmentSource(): SegmentSource {
    return {
      size: (file: string) => this.storage.segmentSize(file),
      fetch: (file: string) => this.storage.fetchSegment(file),
      discard: (file: string) => this.storage.discardSegment(file),
    };
  }

  private listeningReply(job: RecordingJob): RecorderListening {
    return {
      recordingId: job.plan.recordingId,
      recorderId: this.options.recorderId,
      host: this.options.host,
      ports: tracksOf(job.plan).map((t) => t.port),
      fileName: job.plan.fileName,
      engine: job.plan.engine,
    };
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function sameTracks(plan: RecordingPlan, req: RecorderStartRequest): boolean {
  const planned = tracksOf(plan)
    .map((t) => `${t.kind}:${t.codec}:${t.payloadType}:${t.port}`)
    .sort();
  const asked = req.tracks.map((t) => `${t.kind}:${t.codec}:${t.payloadType}:${t.port}`).sort();
  return planned.join() === asked.join();
}
