import type { NatsConnection, Subscription } from 'nats';
import {
  QUEUE_GROUPS,
  RecorderPingSchema,
  RecorderStartRequestSchema,
  RecorderStopRequestSchema,
  RecordingEventSchema,
  subjects,
  type Recording as CatalogRecording,
  type RecorderListening,
  type RecorderPong,
  type RecorderStartRequest,
  type RecorderStopRequest,
  type RecordingEvent,
  type RecordingReport,
} from '@recstack/contracts';
import { applyReport, markFirstKeyframe, markStopping } from '@recstack/catalog';
import { ShuttingDownError, errorCodeOf, publishEvent, serve, type Logger } from '@recstack/service-kit';
import { AtCapacityError, NoSuchRecordingError, RecordingConflictError } from './errors.js';
import type { RecorderMetrics } from './recorder-metrics.js';
import { planRecording, tracksOf, type PlanSettings } from './recording-plan.js';
import { Recording, type RecordingSettings } from './recording.js';

/** The part of the catalog the recorder writes: its own state changes (RecordingCatalog.update). */
export interface CatalogWriter {
  update(id: string, change: (current: CatalogRecording) => CatalogRecording): Promise<CatalogRecording | undefined>;
}

export interface RecorderServiceOptions {
  recorderId: string;
  host: string;
  maxRecordings: number;
  plan: PlanSettings;
  recording: RecordingSettings;
}

/** Reports of recordings that ended, kept a while so a late stop request still gets its answer. */
const RECENT_REPORTS = 500;

/**
 * The recorder's NATS face: `recorder.v1.start` (queue group), `recorder.v1.<id>.stop`, `recorder.v1.ping`.
 * Owns the running recordings, enforces MAX_RECORDINGS, publishes each recording's events and writes its
 * state changes to the catalog.
 */
export class RecorderService {
  private readonly recordings = new Map<string, Recording>();
  private readonly recent = new Map<string, RecordingReport>();
  private readonly subs: Subscription[] = [];
  /** catalog writes in flight: shutdown waits for them before NATS closes */
  private readonly pendingWrites = new Set<Promise<void>>();
  private startSub: Subscription | undefined;
  private accepting = true;

  constructor(
    private readonly nc: NatsConnection,
    private readonly catalog: CatalogWriter | undefined,
    private readonly options: RecorderServiceOptions,
    private readonly metrics: RecorderMetrics,
    private readonly logger: Logger,
  ) {}

  get activeCount(): number {
    return this.recordings.size;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  listen(): void {
    const { recorderId } = this.options;
    this.startSub = serve(this.nc, {
      subject: subjects.recorder.start,
      queue: QUEUE_GROUPS.recorder,
      request: RecorderStartRequestSchema,
      handler: (req) => this.start(req),
      logger: this.logger,
    });
    this.subs.push(
      this.startSub,
      serve(this.nc, { subject: subjects.recorder.stop(recorderId), request: RecorderStopRequestSchema, handler: (req) => this.stop(req), logger: this.logger }),
      serve(this.nc, { subject: subjects.recorder.ping, request: RecorderPingSchema, handler: async () => this.pong(), logger: this.logger }),
    );
  }

  async start(req: RecorderStartRequest): Promise<RecorderListening> {
    if (!this.accepting) throw new ShuttingDownError();
    const existing = this.recordings.get(req.recordingId);
    if (existing) {
      // a retried request (the reply was lost) gets the same answer; a different one is a conflict
      if (!sameTracks(existing.plan, req)) throw new RecordingConflictError(req.recordingId);
      await existing.start();
      return this.listeningReply(existing);
    }
    if (this.recent.has(req.recordingId)) throw new RecordingConflictError(req.recordingId);
    if (this.recordings.size >= this.options.maxRecordings) throw new AtCapacityError(this.options.maxRecordings);
    const plan = planRecording(req, this.options.plan);
    const recording = new Recording(plan, this.options.recording, this.logger);
    this.recordings.set(plan.recordingId, recording);
    this.metrics.active.set(this.recordings.size);
    this.wire(recording);
    try {
      await recording.start();
    } catch (err) {
      this.recordings.delete(plan.recordingId);
      this.metrics.active.set(this.recordings.size);
      this.metrics.failed.inc({ stage: 'start', code: errorCodeOf(err) ?? 'INTERNAL' });
      throw err;
    }
    this.metrics.started.inc();
    this.publish({ type: 'listening', recordingId: plan.recordingId, recorderId: this.options.recorderId, at: new Date().toISOString() });
    return this.listeningReply(recording);
  }

  async stop(req: RecorderStopRequest): Promise<RecordingReport> {
    const recording = this.recordings.get(req.recordingId);
    if (recording) return recording.stop(req.reason);
    const report = this.recent.get(req.recordingId);
    if (report) return report;
    throw new NoSuchRecordingError(req.recordingId);
  }

  pong(): RecorderPong {
    return {
      recorderId: this.options.recorderId,
      engine: this.options.plan.engine,
      host: this.options.host,
      active: this.recordings.size,
      capacity: this.options.maxRecordings,
    };
  }

  /**
   * Shutdown: take no new work (other recorders in the queue group get it), then finalize every active
   * recording in parallel so that all reports are out before `deadline`.
   */
  async drain(deadline: number): Promise<void> {
    this.accepting = false;
    this.startSub?.unsubscribe();
    const active = [...this.recordings.values()];
    if (active.length > 0) this.logger.info({ count: active.length }, 'finalizing active recordings');
    await Promise.all(active.map((r) => r.stop('shutdown', { deadline }).catch((err: unknown) => this.logger.error({ err, recordingId: r.plan.recordingId }, 'recording did not finalize'))));
    // the events and catalog writes of the last reports are in flight: let them reach the server
    await Promise.allSettled([...this.pendingWrites]);
    await this.nc.flush().catch(() => undefined);
  }

  close(): void {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
  }

  private wire(recording: Recording): void {
    const id = recording.plan.recordingId;
    let stoppingAt = 0;
    recording.on('first-keyframe', (at) => {
      this.metrics.startToFirstKeyframe.observe((at.getTime() - recording.requestedAt.getTime()) / 1000);
      this.publish({ type: 'first-keyframe', recordingId: id, recorderId: this.options.recorderId, at: at.toISOString() });
      void this.writeCatalog(id, (r) => markFirstKeyframe(r, at));
    });
    recording.on('stopping', (reason, selfInitiated) => {
      stoppingAt = Date.now();
      if (!selfInitiated && reason !== 'shutdown') return; // whoever asked announced it
      const at = new Date();
      this.publish({ type: 'stopping', recordingId: id, reason, at: at.toISOString() });
      void this.writeCatalog(id, (r) => markStopping(r, reason, at));
    });
    recording.on('finished', (report) => {
      this.recordings.delete(id);
      this.remember(report);
      this.metrics.active.set(this.recordings.size);
      this.metrics.finished.inc({ status: report.status, reason: report.reason });
      if (report.status === 'failed') this.metrics.failed.inc({ stage: 'finish', code: report.error?.code ?? 'INTERNAL' });
      this.metrics.bytesWritten.inc(report.sizeBytes);
      if (stoppingAt > 0) this.metrics.stopToFinalized.observe((Date.now() - stoppingAt) / 1000);
      this.publish({ type: 'finished', recordingId: id, report, at: new Date().toISOString() });
      void this.writeCatalog(id, (r) => applyReport(r, report, new Date()));
    });
  }

  private listeningReply(recording: Recording): RecorderListening {
    return {
      recordingId: recording.plan.recordingId,
      recorderId: this.options.recorderId,
      host: this.options.host,
      ports: tracksOf(recording.plan).map((t) => t.port),
      fileName: recording.plan.fileName,
      engine: recording.plan.engine,
    };
  }

  private remember(report: RecordingReport): void {
    this.recent.set(report.recordingId, report);
    if (this.recent.size > RECENT_REPORTS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  private publish(event: RecordingEvent): void {
    try {
      publishEvent(this.nc, subjects.events.recording(event.recordingId), RecordingEventSchema, event);
    } catch (err) {
      this.logger.warn({ err, recordingId: event.recordingId, type: event.type }, 'event not published');
    }
  }

  /** The catalog records what happened; a catalog problem never fails a recording. */
  private writeCatalog(id: string, change: (r: CatalogRecording) => CatalogRecording): Promise<void> {
    const catalog = this.catalog;
    if (!catalog) return Promise.resolve();
    const write = (async () => {
      try {
        const written = await catalog.update(id, change);
        if (!written) this.logger.debug({ recordingId: id }, 'recording has no catalog entry');
      } catch (err) {
        this.logger.error({ err, recordingId: id }, 'catalog update failed');
      }
    })();
    this.pendingWrites.add(write);
    void write.finally(() => this.pendingWrites.delete(write));
    return write;
  }
}

function sameTracks(plan: Recording['plan'], req: RecorderStartRequest): boolean {
  const planned = tracksOf(plan).map((t) => `${t.kind}:${t.codec}:${t.payloadType}:${t.port}`).sort();
  const asked = req.tracks.map((t) => `${t.kind}:${t.codec}:${t.payloadType}:${t.port}`).sort();
  return planned.join() === asked.join();
}
