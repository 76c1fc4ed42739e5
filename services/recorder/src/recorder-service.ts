import type { NatsConnection, Subscription } from 'nats';
import {
  QUEUE_GROUPS,
  RecorderDrainingSchema,
  RecorderPingSchema,
  RecorderPongSchema,
  RecorderStartRequestSchema,
  RecorderStopRequestSchema,
  RecordingEventSchema,
  RecordingVerifiedEventSchema,
  subjects,
  type Recording as CatalogRecording,
  type RecorderListening,
  type RecorderPong,
  type RecorderStartRequest,
  type RecorderStopRequest,
  type RecordingEvent,
  type RecordingReport,
  type Segment,
} from '@recstack/contracts';
import { applyFileCheck, applyReport, applySalvageReport, claimRecording, markFirstKeyframe, markStopping, markStored } from '@recstack/catalog';
import { ShuttingDownError, errorCodeOf, gather, publishEvent, serve, type Logger } from '@recstack/service-kit';
import type { Admission } from './admission/admission.js';
import { AtCapacityError, NoSuchRecordingError, RecordingConflictError } from './errors.js';
import type { RecorderMetrics } from './recorder-metrics.js';
import { planRecording, tracksOf, type PlanSettings } from './recording-plan.js';
import { Recording, type RecordingSettings } from './recording.js';
import { salvageRecording, type SalvageEntry, type SalvageSettings } from './recovery/salvage.js';
import { joinSegments } from './segments/join-segments.js';
import { assertRoomToStart, type DiskLimits } from './storage/disk-space.js';
import { DiskWatch } from './storage/disk-watch.js';
import type { RecordingStorage, StoredFile } from './storage/recording-storage.js';
import type { VerificationQueue, VerificationResult } from './verification/verification-queue.js';

/** The part of the catalog the recorder uses: its own state changes (RecordingCatalog.update), and reads. */
export interface CatalogWriter {
  get(id: string): Promise<CatalogRecording | undefined>;
  update(id: string, change: (current: CatalogRecording) => CatalogRecording): Promise<CatalogRecording | undefined>;
}

export interface RecorderServiceOptions {
  recorderId: string;
  host: string;
  plan: PlanSettings;
  recording: RecordingSettings;
  salvage: SalvageSettings;
  /** free-space floors and the file size limit in the recordings folder (plan.recordingsDir) */
  disk: DiskLimits;
}

/** How often running recordings' disk use is looked at. */
const DISK_WATCH_INTERVAL_MS = 1000;

/** Attempts at writing a finished recording's report to the catalog before giving it to the reconciler. */
const FINAL_WRITE_ATTEMPTS = 8;
const FINAL_WRITE_PAUSE_MS = 1000;

/** How long a handed-over segment's upload is tried (STORAGE=nats) outside a shutdown, whose deadline rules then. */
const SEGMENT_UPLOAD_WAIT_MS = 20_000;

/** Reports of recordings that ended, kept a while so a late stop request still gets its answer. */
const RECENT_REPORTS = 500;

/**
 * The recorder's NATS face: `recorder.v1.start` (queue group), `recorder.v1.<id>.stop`, `recorder.v1.ping`.
 * Owns the running recordings, admits starts by cost (admission/), publishes each recording's events,
 * writes its state changes to the catalog and hands finished files to the background verification.
 */
export class RecorderService {
  private readonly recordings = new Map<string, Recording>();
  private readonly recent = new Map<string, RecordingReport>();
  /**
   * Recordings between their report and its last step (upload, catalog, event): a stop asked meanwhile is
   * answered when they are through. Also the salvages of recordings adopted from a dead recorder.
   */
  private readonly finals = new Map<string, Promise<RecordingReport>>();
  private readonly subs: Subscription[] = [];
  /** recordings whose segment here is being stopped for a handover: no catalog write, no `finished` */
  private readonly handedOver = new Set<string>();
  /** segment files left by a dead predecessor that are being salvaged and uploaded (STORAGE=nats) */
  private readonly segmentsInFlight = new Set<string>();
  private readonly emptyWaiters: Array<() => void> = [];
  /** catalog writes in flight: shutdown waits for them before NATS closes */
  private readonly pendingWrites = new Set<Promise<void>>();
  /** the start subjects (queue group and this recorder's own): dropped first at shutdown */
  private startSubs: Subscription[] = [];
  private accepting = true;
  /** set by drain(): the storage step of the last reports must fit before it */
  private deadline: number | undefined;
  private readonly diskWatch: DiskWatch;

  constructor(
    private readonly nc: NatsConnection,
    private readonly catalog: CatalogWriter | undefined,
    private readonly options: RecorderServiceOptions,
    private readonly metrics: RecorderMetrics,
    private readonly logger: Logger,
    private readonly storage: RecordingStorage,
    private readonly admission: Admission,
    private readonly verification: VerificationQueue,
  ) {
    this.diskWatch = new DiskWatch(
      { ...options.disk, dir: options.plan.recordingsDir, intervalMs: DISK_WATCH_INTERVAL_MS },
      () => [...this.recordings.values()].map((r) => ({ recordingId: r.plan.recordingId, path: r.plan.writePath, end: (reason) => r.endOnItsOwn(reason) })),
      logger.child({ component: 'disk-watch' }),
    );
  }

  get recorderId(): string {
    return this.options.recorderId;
  }

  get activeCount(): number {
    return this.recordings.size;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  listen(): void {
    const { recorderId } = this.options;
    const start = { request: RecorderStartRequestSchema, handler: (req: RecorderStartRequest) => this.start(req), logger: this.logger };
    this.startSubs = [
      serve(this.nc, { subject: subjects.recorder.start, queue: QUEUE_GROUPS.recorder, ...start }),
      serve(this.nc, { subject: subjects.recorder.startOn(recorderId), ...start }),
    ];
    this.subs.push(
      ...this.startSubs,
      serve(this.nc, { subject: subjects.recorder.stop(recorderId), request: RecorderStopRequestSchema, handler: (req) => this.stop(req), logger: this.logger }),
      serve(this.nc, { subject: subjects.recorder.ping, request: RecorderPingSchema, handler: async () => this.pong(), logger: this.logger }),
      serve(this.nc, { subject: subjects.recorder.pingOne(recorderId), request: RecorderPingSchema, handler: async () => this.pong(), logger: this.logger }),
    );
    this.diskWatch.start();
  }

  async start(req: RecorderStartRequest): Promise<RecorderListening> {
    if (!this.accepting) throw new ShuttingDownError();
    // before the checks below, which must stay in one synchronous piece with the registration (MAX_RECORDINGS);
    // a retried request for a running recording is answered whatever the disk says
    if (!this.recordings.has(req.recordingId)) await assertRoomToStart(this.options.plan.recordingsDir, this.options.disk);
    const existing = this.recordings.get(req.recordingId);
    if (existing) {
      // a retried request (the reply was lost) gets the same answer; a different one is a conflict
      if (!sameTracks(existing.plan, req)) throw new RecordingConflictError(req.recordingId);
      await existing.start();
      return this.listeningReply(existing);
    }
    if (this.recent.has(req.recordingId) || this.finals.has(req.recordingId)) throw new RecordingConflictError(req.recordingId);
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
    const recording = new Recording(plan, this.options.recording, this.logger);
    this.recordings.set(plan.recordingId, recording);
    this.metrics.active.set(this.recordings.size);
    this.wire(recording);
    try {
      await recording.start();
    } catch (err) {
      this.admission.release(plan.recordingId);
      this.recordings.delete(plan.recordingId);
      this.metrics.active.set(this.recordings.size);
      this.metrics.failed.inc({ stage: 'start', code: errorCodeOf(err) ?? 'INTERNAL' });
      throw err;
    }
    this.metrics.started.inc();
    this.publish({ type: 'listening', recordingId: plan.recordingId, recorderId: this.options.recorderId, at: new Date().toISOString() });
    return this.listeningReply(recording);
  }

  /** Answers with the final report: after the file is where the storage setting puts it and the catalog says so. */
  async stop(req: RecorderStopRequest): Promise<RecordingReport> {
    const recording = this.recordings.get(req.recordingId);
    if (recording && req.handover) {
      // the recording goes on elsewhere: this segment's file is finalized (and with STORAGE=nats put into the
      // object store for the joiner), nothing else is said about it
      this.handedOver.add(req.recordingId);
      const report = await recording.stop(req.reason);
      return (await this.finals.get(req.recordingId)) ?? report;
    }
    if (recording) {
      const report = await recording.stop(req.reason);
      return (await this.finals.get(req.recordingId)) ?? this.recent.get(req.recordingId) ?? report;
    }
    const final = this.finals.get(req.recordingId);
    if (final) return final;
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
      capacity: this.admission.settings.maxRecordings,
      recordings: this.heldIds(),
      ...this.admission.pongFields(),
    };
  }

  /** Recordings this instance is responsible for now: running, finishing, being salvaged, uploads pending. */
  heldIds(): string[] {
    return [...new Set([...this.recordings.keys(), ...this.finals.keys(), ...this.storage.pendingIds])];
  }

  holds(recordingId: string): boolean {
    return this.recordings.has(recordingId) || this.finals.has(recordingId) || this.storage.isPending(recordingId);
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
      if (entry && this.catalog) {
        const claimed = await this.catalog.update(entry.id, (r) => claimRecording(r, entry.recorderId, this.options.recorderId, new Date()));
        if (claimed && claimed.recorderId !== this.options.recorderId) {
          log.info({ by: claimed.recorderId }, 'recording claimed by another recorder');
          return undefined;
        }
      }
      log.info({ previousRecorderId: entry?.recorderId, status: entry?.status }, 'salvaging a recording whose recorder is gone');
      const report = await salvageRecording(target, this.options.salvage, this.logger);
      this.metrics.finished.inc({ status: report.status, reason: report.reason });
      if (report.status === 'done') this.metrics.bytesWritten.inc(report.sizeBytes);
      return this.finish(report, { salvaged: true });
    })();
    const tracked = work.then((report) => report ?? Promise.reject(new NoSuchRecordingError(target.id)));
    tracked.catch(() => undefined);
    this.finals.set(target.id, tracked);
    try {
      return await work;
    } finally {
      if (this.finals.get(target.id) === tracked) this.finals.delete(target.id);
    }
  }

  /**
   * A finished recording whose file is still here although STORAGE=nats (an upload a predecessor did not
   * finish): claims it and uploads it in the background.
   */
  async resumeUpload(entry: CatalogRecording): Promise<void> {
    if (this.storage.kind !== 'nats' || this.holds(entry.id) || !this.catalog) return;
    const claimed = await this.catalog.update(entry.id, (r) => claimRecording(r, entry.recorderId, this.options.recorderId, new Date()));
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
    if (this.storage.kind !== 'nats' || this.holds(entry.id) || this.segmentsInFlight.has(segment.file)) return;
    this.segmentsInFlight.add(segment.file);
    const log = this.logger.child({ recordingId: entry.id, sessionId: entry.sessionId, segment: segment.file });
    try {
      log.info({ previousRecorderId: segment.recorderId }, 'salvaging the segment of a recording handed over to another recorder');
      const salvaged = await salvageRecording(
        { id: entry.id, sessionId: entry.sessionId, container: entry.container, audioCodec: entry.audioCodec, fileName: segment.file, startedAt: segment.startedAt },
        { ...this.options.salvage, verify: false },
        log,
      );
      if (salvaged.status !== 'done') {
        log.warn({ error: salvaged.error }, 'segment not salvaged: the joiner will miss it');
        return;
      }
      await this.placeSegment(salvaged);
    } finally {
      this.segmentsInFlight.delete(segment.file);
    }
  }

  /** The catalog's side of a background upload that verified (see RecordingStorage). */
  async onUploaded(file: StoredFile): Promise<'kept' | 'gone'> {
    if (!this.catalog) return 'kept';
    const stored = await this.catalog.update(file.recordingId, (r) => markStored(r, file.fileName, 'nats', new Date()));
    if (!stored) return 'gone';
    if (stored.storage !== 'nats') throw new Error(`catalog entry of ${file.recordingId} does not take the new storage`);
    const report = this.recent.get(file.recordingId);
    if (report) this.recent.set(file.recordingId, { ...report, storage: 'nats' });
    return 'kept';
  }

  /**
   * Shutdown: take no new work (other recorders in the queue group get it), then finalize every active
   * recording in parallel so that all reports are out before `deadline`.
   */
  async drain(deadline: number): Promise<void> {
    this.accepting = false;
    for (const sub of this.startSubs) sub.unsubscribe();
    const active = [...this.recordings.values()];
    if (active.length > 0) this.logger.info({ count: active.length }, 'finalizing active recordings');
    this.deadline = deadline;
    // verification is forgotten, not resumed: queued files stay unverified (fileCheck null), and a running
    // decode is killed, not waited for
    this.verification.close();
    await Promise.all(active.map((r) => r.stop('shutdown', { deadline }).catch((err: unknown) => this.logger.error({ err, recordingId: r.plan.recordingId }, 'recording did not finalize'))));
    // uploads, catalog writes and events of the last reports are in flight: let them reach the server
    await Promise.race([Promise.allSettled([...this.finals.values()]), delay(Math.max(0, deadline - Date.now()))]);
    await Promise.allSettled([...this.pendingWrites]);
    await this.storage.close(deadline);
    await this.nc.flush().catch(() => undefined);
  }

  close(): void {
    this.diskWatch.close();
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
      if (this.handedOver.has(id)) return;
      if (!selfInitiated && reason !== 'shutdown') return; // whoever asked announced it
      const at = new Date();
      this.publish({ type: 'stopping', recordingId: id, reason, at: at.toISOString() });
      void this.writeCatalog(id, (r) => markStopping(r, reason, at));
    });
    recording.on('finished', (report) => {
      this.metrics.finished.inc({ status: report.status, reason: report.reason });
      if (report.status === 'failed') this.metrics.failed.inc({ stage: 'finish', code: report.error?.code ?? 'INTERNAL' });
      this.metrics.bytesWritten.inc(report.sizeBytes);
      if (this.handedOver.delete(id)) {
        // a segment handed over: the stop's reply carries its report to media, the recording is not over.
        // Registered before the recording leaves the running set, so a drain waits for the upload too
        const handed = this.placeSegment(report);
        this.finals.set(id, handed);
        void handed.finally(() => {
          if (this.finals.get(id) === handed) this.finals.delete(id);
        });
        this.recordings.delete(id);
        this.admission.release(id);
        this.metrics.active.set(this.recordings.size);
        this.logger.info({ recordingId: id, durationMs: report.durationMs, fileName: report.fileName }, 'segment handed over');
        this.emptied();
        return;
      }
      // the final steps are registered before the recording leaves the running set: a stop in between
      // always finds one of them
      const previous = recording.plan.previousSegments;
      const final = previous
        ? this.joining(report, recording, previous).then((joined) => this.finish(joined, { salvaged: false }))
        : this.finish(report, { salvaged: false });
      this.finals.set(id, final);
      this.recordings.delete(id);
      // the child has exited and the file is final: what is left (upload, verification) is not counted as load
      this.admission.release(id);
      this.metrics.active.set(this.recordings.size);
      this.emptied();
      void final.finally(() => {
        if (this.finals.get(id) === final) this.finals.delete(id);
        if (stoppingAt > 0) this.metrics.stopToFinalized.observe((Date.now() - stoppingAt) / 1000);
      });
    });
  }

  /**
   * A segment handed over with STORAGE=nats goes into the object store, where the recorder that joins the
   * segments fetches it (this recorder's disk is not its disk). Never rejects: a segment not uploaded stays
   * here, and the joiner declares its time a gap.
   */
  private async placeSegment(report: RecordingReport): Promise<RecordingReport> {
    if (this.storage.kind !== 'nats' || report.status !== 'done') return report;
    const deadline = this.deadline ?? Date.now() + SEGMENT_UPLOAD_WAIT_MS;
    const uploaded = await this.storage.placeSegment(report, deadline).catch((err: unknown) => {
      this.logger.error({ err, recordingId: report.recordingId }, 'segment upload failed');
      return false;
    });
    if (!uploaded) this.logger.warn({ recordingId: report.recordingId, fileName: report.fileName }, 'segment not in the object store: the joiner will miss it');
    return report;
  }

  /** The last segment of a handed-over recording ended: the segments become the one file (never rejects). */
  private async joining(report: RecordingReport, recording: Recording, previous: NonNullable<Recording['plan']['previousSegments']>): Promise<RecordingReport> {
    try {
      const source = { fetch: (file: string) => this.storage.fetchSegment(file), discard: (file: string) => this.storage.discardSegment(file) };
      return await joinSegments(report, recording.plan, previous, this.options.salvage, this.logger, source);
    } catch (err) {
      this.logger.error({ err, recordingId: report.recordingId }, 'joining the segments failed');
      return report;
    }
  }

  private emptied(): void {
    if (this.recordings.size > 0) return;
    for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  /**
   * RECORDER_DRAIN=handover: takes no new work and asks media to move every running recording to another
   * recorder (`recorder.v1.draining`); media starts each one elsewhere, then stops it here with `handover`.
   * Resolves when none is left here or after `waitMs`; what is left is finished by `drain` as before.
   * `deadline`: the shutdown's end, which bounds the segments' uploads (STORAGE=nats).
   * Nothing is announced when no other recorder has room: the recordings are finished here then.
   */
  async handOver(waitMs: number, deadline?: number): Promise<void> {
    const ids = [...this.recordings.keys()];
    if (ids.length === 0) return;
    // the uploads of the segments handed over (STORAGE=nats) may take until the shutdown's end
    if (deadline !== undefined) this.deadline = deadline;
    this.accepting = false;
    for (const sub of this.startSubs) sub.unsubscribe();
    const pongs = await gather(this.nc, subjects.recorder.ping, {}, RecorderPongSchema, 500).catch(() => []);
    const room = pongs.some((p) => p.recorderId !== this.options.recorderId && p.active < p.capacity);
    if (!room) {
      this.logger.warn({ count: ids.length }, 'no other recorder has room, finishing the recordings here');
      return;
    }
    const empty = new Promise<void>((resolve) => this.emptyWaiters.push(resolve));
    try {
      publishEvent(this.nc, subjects.recorder.draining, RecorderDrainingSchema, { recorderId: this.options.recorderId, recordingIds: ids });
    } catch (err) {
      this.logger.warn({ err }, 'drain announcement not published');
      return;
    }
    this.logger.info({ count: ids.length }, 'draining: recordings handed over to other recorders');
    await Promise.race([empty, delay(waitMs)]);
    if (this.recordings.size > 0) this.logger.warn({ left: this.recordings.size }, 'not every recording was handed over in time, finishing the rest');
  }

  /**
   * The steps after a report: the file goes where the storage setting says (STORAGE=nats: uploaded and
   * verified, or left local when that does not succeed in time), the catalog gets the report, `finished` is
   * published, and only then is a local copy that is now in the object store removed. Never rejects.
   */
  private async finish(report: RecordingReport, options: { salvaged: boolean }): Promise<RecordingReport> {
    const id = report.recordingId;
    const placed = await this.storage.place(report, this.deadline === undefined ? {} : { deadline: this.deadline });
    this.remember(placed);
    const change = options.salvaged ? applySalvageReport : applyReport;
    const written = await this.writeFinal(id, (r) => change(r, placed, new Date()));
    this.publish({ type: 'finished', recordingId: id, report: placed, at: new Date().toISOString() });
    // queued after the report is in the catalog, so the fileCheck it writes lands on a done entry; with
    // STORAGE=nats the local copy (which it reads) stays until then (see discardLocal below)
    const verifying = placed.decodeCheck === 'pending' && this.verification.enqueue({ recordingId: id, sessionId: report.sessionId, path: this.storage.localPath(placed.fileName) });
    if (placed.storage === 'nats') {
      if (written.ok && (written.entry === undefined || written.entry.storage === 'nats')) {
        const discard = () => this.storage.discardLocal(placed.fileName).catch((err: unknown) => this.logger.warn({ err, recordingId: id }, 'local copy not removed'));
        // after its verification, in the background (not on the stop's path); a verification dropped at
        // shutdown settles at once, so the copy goes then (the reconciler removes any the service missed)
        if (verifying) void this.verification.settled(id).then(discard);
        else await discard();
      } else if (written.ok) {
        // the entry did not take the report (it was finished otherwise meanwhile): the local file stays its file
        await this.storage.discardObject(id);
        this.remember({ ...placed, storage: 'local' });
      }
      // catalog unreachable: both copies stay; the reconciler removes the local one once the entry says nats
    }
    return this.recent.get(id) ?? placed;
  }

  /** The report's catalog write, retried: without it the recording would look unfinished until reconciled. */
  private async writeFinal(id: string, change: (r: CatalogRecording) => CatalogRecording): Promise<{ ok: true; entry: CatalogRecording | undefined } | { ok: false }> {
    const catalog = this.catalog;
    if (!catalog) return { ok: true, entry: undefined };
    const write = (async (): Promise<{ ok: true; entry: CatalogRecording | undefined } | { ok: false }> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const entry = await catalog.update(id, change);
          if (!entry) this.logger.debug({ recordingId: id }, 'recording has no catalog entry');
          return { ok: true, entry };
        } catch (err) {
          this.logger.error({ err, recordingId: id, attempt }, 'catalog update failed');
          if (attempt >= FINAL_WRITE_ATTEMPTS || (this.deadline !== undefined && Date.now() + FINAL_WRITE_PAUSE_MS > this.deadline)) return { ok: false };
          await delay(FINAL_WRITE_PAUSE_MS * attempt);
        }
      }
    })();
    const tracked = write.then(() => undefined);
    this.pendingWrites.add(tracked);
    void tracked.finally(() => this.pendingWrites.delete(tracked));
    return write;
  }

  /** A background verification finished: the catalog's fileCheck, then `recording.verified`. */
  private async onVerified(result: VerificationResult): Promise<void> {
    const id = result.job.recordingId;
    this.metrics.verified.inc({ mode: result.mode, result: result.fileCheck.decodesCleanly ? 'clean' : 'damaged' });
    await this.writeCatalog(id, (r) => applyFileCheck(r, result.fileCheck, new Date()));
    try {
      publishEvent(this.nc, subjects.events.recordingVerified(id), RecordingVerifiedEventSchema, {
        type: 'verified',
        recordingId: id,
        recorderId: this.options.recorderId,
        fileCheck: result.fileCheck,
        mode: result.mode,
        at: new Date().toISOString(),
      });
    } catch (err) {
      this.logger.warn({ err, recordingId: id }, 'verified event not published');
    }
  }

  /** The handler the verification queue reports to (main wires it; the queue exists before the service). */
  readonly verified = (result: VerificationResult): Promise<void> => this.onVerified(result);

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
    // retried like the final write: a NATS restart must not lose a state change made while it was away
    const write = (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const written = await catalog.update(id, change);
          if (!written) this.logger.debug({ recordingId: id }, 'recording has no catalog entry');
          return;
        } catch (err) {
          this.logger.error({ err, recordingId: id, attempt }, 'catalog update failed');
          if (attempt >= FINAL_WRITE_ATTEMPTS || (this.deadline !== undefined && Date.now() + FINAL_WRITE_PAUSE_MS > this.deadline)) return;
          await delay(FINAL_WRITE_PAUSE_MS * attempt);
        }
      }
    })();
    this.pendingWrites.add(write);
    void write.finally(() => this.pendingWrites.delete(write));
    return write;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function sameTracks(plan: Recording['plan'], req: RecorderStartRequest): boolean {
  const planned = tracksOf(plan).map((t) => `${t.kind}:${t.codec}:${t.payloadType}:${t.port}`).sort();
  const asked = req.tracks.map((t) => `${t.kind}:${t.codec}:${t.payloadType}:${t.port}`).sort();
  return planned.join() === asked.join();
}
