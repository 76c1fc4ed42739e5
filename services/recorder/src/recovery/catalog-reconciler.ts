import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from 'nats';
import {
  CONTAINERS,
  RecordingEventSchema,
  isTerminal,
  rpc,
  subjects,
  type Recording,
  type RecorderLost,
  type RecordingReport,
  type Segment,
  type StorageKind,
} from '@recstack/contracts';
import { markFailed } from '@recstack/catalog';
import { gather, publishEvent, type Logger } from '@recstack/service-kit';
import { listProcesses, pickOrphans, selfProcess, type OrphanProcess } from './orphan-processes.js';
import { stopOrphan, type OrphanStopSteps } from './orphan-stopper.js';
import { STALE_FILE_MS, decide, leftBySameId, onRestart, type ReconcileAction, type ReconcileView, type RestartDecision } from './reconcile-decision.js';
import { leftoverFile, type SalvageEntry, type SalvageSettings } from './salvage.js';

/** A recording a dead recorder held, and the segment file it was writing. */
export type LostRecording = RecorderLost['recordings'][number];

/** The catalog as the reconciler uses it. */
export interface ReconcilerCatalog {
  list(): Promise<Recording[]>;
  get(id: string): Promise<Recording | undefined>;
  update(id: string, change: (current: Recording) => Recording): Promise<Recording | undefined>;
}

/** The recorder service's side of recovery (RecorderService). */
export interface RecoveryTarget {
  readonly recorderId: string;
  holds(recordingId: string): boolean;
  adopt(entry: Recording | undefined, standIn?: SalvageEntry): Promise<RecordingReport | undefined>;
  resumeUpload(entry: Recording): Promise<void>;
  handOverLeftSegment(entry: Recording, segment: Segment): Promise<void>;
  /** finalizes a segment file a dead recorder left here (and with STORAGE=nats puts it into the object store) */
  finalizeSegment(entry: Recording, file: string): Promise<void>;
  /** `recorder.v1.lost`: false when it could not be published */
  announceLost(recorderId: string, recordings: LostRecording[]): boolean;
}

/** The object store's side (RecordingStorage). */
export interface ReconcilerStorage {
  readonly kind: StorageKind;
  storedSize(recordingId: string): Promise<number | undefined>;
  discardLocal(fileName: string): Promise<void>;
}

export interface ReconcilerSettings {
  intervalMs: number;
  graceMs: number;
  orphanStop: OrphanStopSteps;
  /** basenames of the programs a recording runs (gst-launch-1.0, ffmpeg) */
  tools: string[];
  salvage: SalvageSettings;
  /**
   * With a configured RECORDER_ID: when this process started (entries naming the id and changed before it are a
   * predecessor's); undefined with a generated id, which nothing before this process can name.
   */
  sameIdSince: number | undefined;
}

const PING_WAIT_MS = 1000;
/**
 * How long the rounds leave a recording reported lost to media's handover: once handed over, its entry names
 * the recorder that took it; if no recorder took it, the round salvages and reports it after this.
 */
const LOST_HANDOVER_WAIT_MS = 30_000;
/** at start-up the two pings that make "gone" are this far apart, instead of a whole interval */
const STARTUP_SECOND_PING_MS = 2000;

/**
 * Keeps the catalog true when recorders die. At start-up, a recorder adopts what a predecessor with the same
 * RECORDINGS_DIR left: it ends orphaned recording processes (SIGINT → EOS, so the muxer writes its index)
 * and salvages their files. Then, periodically (every instance; claims make it safe), it looks at every
 * entry that is not finished: its recorder gone (two missed pings) and its file here → salvage; its
 * recorder and its media gone and no file here, for longer than the grace period → failed. Finished
 * recordings whose file is still here although STORAGE=nats are uploaded (an interrupted upload).
 */
export class CatalogReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private missedLastRound = new Set<string>();
  /** recordings reported lost at start-up, and when (media hands them over; the round leaves them meanwhile) */
  private readonly reportedLost = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly catalog: ReconcilerCatalog,
    private readonly target: RecoveryTarget,
    private readonly storage: ReconcilerStorage,
    private readonly settings: ReconcilerSettings,
    private readonly logger: Logger,
  ) {}

  /** Adopts orphans, runs a first round, then one every interval (with jitter, so instances spread out). */
  start(): Promise<void> {
    this.running = (async () => {
      await this.adoptOrphans().catch((err: unknown) => this.logger.error({ err }, 'adopting orphaned recordings failed'));
      if (this.closed) return;
      this.missedLastRound = await this.unanswered();
      await sleep(STARTUP_SECOND_PING_MS, undefined, { ref: false });
      await this.round().catch((err: unknown) => this.logger.error({ err }, 'catalog reconciliation failed'));
    })().finally(() => {
      this.running = undefined;
      this.schedule();
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * What a dead recorder left on this folder: its orphaned recording processes, and (with the same
   * RECORDER_ID) the recordings the catalog says this recorder records. A recording still running is not
   * ended here: media is told at once that its recorder is gone (`recorder.v1.lost`), hands it over, and
   * what the orphan wrote is finalized as a segment, which the recording's joiner puts in front of the
   * rest. A recording that is over, being stopped, or that no media feeds any more is salvaged and
   * reported as before (`done`, reason `error`). The orphans end with EOS (their muxers write their index).
   */
  async adoptOrphans(): Promise<OrphanProcess[]> {
    const dir = this.settings.salvage.recordingsDir;
    const orphans = pickOrphans(await listProcesses(), dir, await selfProcess(), this.settings.tools);
    const entries = await this.catalog.list().catch((err: unknown) => {
      this.logger.warn({ err }, 'catalog not read at start-up: orphans are salvaged without it');
      return undefined;
    });
    const candidates = restartCandidates(entries ?? [], orphans, this.target.recorderId, this.settings.sameIdSince);
    // whether their media still feeds them (a ping round: only when there is something to decide)
    const media = candidates.some((c) => !isTerminal(c.entry.status)) ? await this.pingMedia().catch(() => new Set<string>()) : new Set<string>();
    const plans = restartPlans(candidates, this.target, media);
    if (orphans.length === 0 && plans.length === 0) return [];
    if (orphans.length > 0) {
      this.logger.warn({ orphans: orphans.map((o) => ({ pid: o.pid, recordingId: o.recordingId, command: o.command })) }, 'orphaned recording processes found');
    }
    // before the orphans are stopped (an EOS takes up to a second): media starts the next segment meanwhile
    this.announceLost(plans);
    await Promise.all(orphans.map((o) => stopOrphan(o, this.settings.orphanStop, this.logger)));
    const planned = new Set(plans.map((p) => p.entry.id));
    const known = new Set((entries ?? []).map((e) => e.id));
    await Promise.all([
      ...plans.map(async ({ entry, decision }) => {
        for (const file of decision.segments) await this.target.finalizeSegment(entry, file);
        if (decision.finish) await this.target.adopt(entry);
      }),
      // no catalog entry (or the catalog unreadable): the file is finalized all the same
      ...[...new Set(orphans.map((o) => o.recordingId))]
        .filter((id) => !planned.has(id) && !planned.has(baseId(id)) && !known.has(id) && !known.has(baseId(id)))
        .map(async (id) => {
          const entry = entries ? undefined : await this.catalog.get(id).catch(() => undefined);
          if (entry && isTerminal(entry.status) && entry.durationMs !== null) return;
          await this.target.adopt(entry, entry ? undefined : await standInFor(id, this.settings.salvage));
        }),
    ]);
    return orphans;
  }

  /** `recorder.v1.lost`, one per recorder that lost recordings; the round leaves them to media for a while. */
  private announceLost(plans: readonly RestartPlan[]): void {
    const byRecorder = new Map<string, LostRecording[]>();
    for (const { entry, decision } of plans) {
      const lost = decision.lost;
      // a start that reached this process since the plan was made: the recording is here again
      if (lost === undefined || this.target.holds(entry.id)) continue;
      byRecorder.set(lost.recorderId, [...(byRecorder.get(lost.recorderId) ?? []), { recordingId: entry.id, file: lost.file }]);
      this.reportedLost.set(entry.id, Date.now());
    }
    for (const [recorderId, recordings] of byRecorder) {
      this.logger.warn({ lostRecorderId: recorderId, recordings }, 'recordings of a recorder that died reported lost, media hands them over');
      this.target.announceLost(recorderId, recordings);
    }
  }

  /** One look at the whole catalog. */
  async round(): Promise<void> {
    const [recorders, media, entries] = await Promise.all([this.pingRecorders(), this.pingMedia(), this.catalog.list()]);
    const named = new Set(entries.map((e) => e.recorderId).filter((id): id is string => id !== null));
    const unanswered = new Set([...named].filter((id) => !recorders.has(id)));
    const view: ReconcileView = {
      now: Date.now(),
      selfId: this.target.recorderId,
      recorders,
      missedTwice: new Set([...unanswered].filter((id) => this.missedLastRound.has(id))),
      media,
      storage: this.storage.kind,
      graceMs: this.settings.graceMs,
    };
    this.missedLastRound = unanswered;
    for (const entry of entries) {
      if (this.closed) return;
      if (this.target.holds(entry.id) || this.leftToMedia(entry.id)) continue;
      if (this.storage.kind === 'nats' && !isTerminal(entry.status)) {
        await this.leftSegments(entry).catch((err: unknown) => this.logger.error({ err, recordingId: entry.id }, 'handing a left segment over failed'));
      }
      const file = await leftoverFile(entry, this.settings.salvage);
      const action = decide(entry, file ? { modifiedMs: file.modifiedMs } : undefined, view);
      if (action.type === 'leave') continue;
      await this.execute(entry, action).catch((err: unknown) =>
        this.logger.error({ err, recordingId: entry.id, action: action.type }, 'reconciliation step failed'),
      );
    }
  }

  /**
   * STORAGE=nats: the closed segments of a running recording (every one but the last) whose file a dead
   * predecessor left in this folder, not written to for a while: the recorder salvages and uploads them, so
   * the joiner, on another disk, can fetch them.
   */
  private async leftSegments(entry: Recording): Promise<void> {
    for (const segment of (entry.segments ?? []).slice(0, -1)) {
      const file = await leftoverFile({ ...entry, fileName: segment.file }, this.settings.salvage);
      if (!file || Date.now() - file.modifiedMs < STALE_FILE_MS) continue;
      await this.target.handOverLeftSegment(entry, segment);
    }
  }

  /** A recording reported lost a moment ago: media is handing it over, its file is a segment now. */
  private leftToMedia(recordingId: string): boolean {
    const at = this.reportedLost.get(recordingId);
    if (at === undefined) return false;
    if (Date.now() - at < LOST_HANDOVER_WAIT_MS) return true;
    this.reportedLost.delete(recordingId);
    return false;
  }

  private async execute(entry: Recording, action: Exclude<ReconcileAction, { type: 'leave' }>): Promise<void> {
    const log = this.logger.child({ recordingId: entry.id, sessionId: entry.sessionId });
    switch (action.type) {
      case 'salvage':
        await this.target.adopt(entry);
        return;
      case 'upload':
        await this.target.resumeUpload(entry);
        return;
      case 'discard-local': {
        const size = await this.storage.storedSize(entry.id);
        if (size === undefined || size !== entry.sizeBytes) return;
        await this.storage.discardLocal(entry.fileName);
        log.info('local copy of a stored recording removed');
        return;
      }
      case 'fail': {
        // only if nobody changed the entry since it was read: whoever did knows more
        const written = await this.catalog.update(entry.id, (r) => (r.updatedAt === entry.updatedAt ? markFailed(r, action.error, new Date()) : r));
        if (written?.status !== 'failed' || written.updatedAt === entry.updatedAt) return;
        log.warn({ error: action.error, recorderId: entry.recorderId, mediaId: entry.mediaId, status: entry.status }, 'recording nobody holds marked failed');
        try {
          publishEvent(this.nc, subjects.events.recording(entry.id), RecordingEventSchema, {
            type: 'failed',
            recordingId: entry.id,
            error: action.error,
            at: new Date().toISOString(),
          });
        } catch (err) {
          log.warn({ err }, 'event not published');
        }
        return;
      }
    }
  }

  private schedule(): void {
    if (this.closed) return;
    const jitter = 0.75 + Math.random() * 0.5;
    this.timer = setTimeout(
      () => {
        this.running = this.round()
          .catch((err: unknown) => this.logger.error({ err }, 'catalog reconciliation failed'))
          .finally(() => {
            this.running = undefined;
            this.schedule();
          });
      },
      Math.round(this.settings.intervalMs * jitter),
    );
    this.timer.unref();
  }

  /** Recorder ids named in open entries that do not answer now (the first of the two misses at start-up). */
  private async unanswered(): Promise<Set<string>> {
    const [recorders, entries] = await Promise.all([this.pingRecorders(), this.catalog.list()]);
    return new Set(entries.map((e) => e.recorderId).filter((id): id is string => id !== null && !recorders.has(id)));
  }

  private async pingRecorders(): Promise<Map<string, ReadonlySet<string> | undefined>> {
    const pongs = await gather(this.nc, rpc.recorder.ping, {}, PING_WAIT_MS);
    const out = new Map<string, ReadonlySet<string> | undefined>(pongs.map((p) => [p.recorderId, p.recordings ? new Set(p.recordings) : undefined]));
    // this instance answers too, but what it holds is known here without the wire
    out.set(this.target.recorderId, undefined);
    return out;
  }

  private async pingMedia(): Promise<Set<string>> {
    const pongs = await gather(this.nc, rpc.media.ping, {}, PING_WAIT_MS);
    return new Set(pongs.map((p) => p.mediaId));
  }
}

/**
 * A recording with no catalog entry (created by a test, or its entry deleted): what its file in the folder
 * says. It is finalized all the same, so the file on disk is the compact one.
 */
async function standInFor(id: string, settings: SalvageSettings): Promise<SalvageEntry | undefined> {
  for (const container of CONTAINERS) {
    const entry: SalvageEntry = { id, sessionId: 'unknown', container, audioCodec: null, fileName: `${id}.${container}`, startedAt: null };
    if (await leftoverFile(entry, settings)) return entry;
  }
  return undefined;
}

interface RestartPlan {
  entry: Recording;
  decision: RestartDecision;
}

/** `<id>-s<n>` (a later segment's file) → `<id>` */
function baseId(fileStem: string): string {
  return fileStem.replace(/-s\d+$/, '');
}

/**
 * Each catalog entry a restart on this folder has something to do with: the recordings whose files orphans
 * were writing, and the open ones that name this recorder's id (a restart with the same RECORDER_ID).
 */
function restartCandidates(
  entries: readonly Recording[],
  orphans: readonly OrphanProcess[],
  selfId: string,
  sameIdSince: number | undefined,
): Array<{ entry: Recording; orphanFiles: Set<string> }> {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const files = new Map<string, Set<string>>();
  for (const o of orphans) {
    const entry = byId.get(o.recordingId) ?? byId.get(baseId(o.recordingId));
    if (entry) files.set(entry.id, (files.get(entry.id) ?? new Set()).add(o.file));
  }
  return entries
    .map((entry) => ({ entry, orphanFiles: files.get(entry.id) ?? new Set<string>() }))
    .filter(({ entry, orphanFiles }) => orphanFiles.size > 0 || (!isTerminal(entry.status) && leftBySameId(entry, selfId, sameIdSince)));
}

/** What to do with each candidate (onRestart), given which media instances answer. */
function restartPlans(
  candidates: ReadonlyArray<{ entry: Recording; orphanFiles: ReadonlySet<string> }>,
  target: Pick<RecoveryTarget, 'recorderId' | 'holds'>,
  media: ReadonlySet<string>,
): RestartPlan[] {
  const plans: RestartPlan[] = [];
  for (const { entry, orphanFiles } of candidates) {
    const decision = onRestart(entry, orphanFiles, target.recorderId, entry.mediaId !== null && media.has(entry.mediaId), target.holds(entry.id));
    if (decision.lost !== undefined || decision.finish || decision.segments.length > 0) plans.push({ entry, decision });
  }
  return plans;
}
