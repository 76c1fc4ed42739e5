import type { Recording as CatalogRecording, RecordingReport } from '@recstack/contracts';
import { applyFileCheck, applyReport, applySalvageReport } from '@recstack/catalog';
import type { Logger } from '@recstack/service-kit';
import type { Clock } from './clock.js';
import type { RecorderEvents } from './recorder-events.js';
import type { RecorderMetrics } from './recorder-metrics.js';
import type { RecordingRegistry } from './recording-registry.js';
import type { RecordingStorage } from './storage/recording-storage.js';
import type { VerificationQueue, VerificationResult } from './verification/verification-queue.js';

/** The part of the catalog the recorder uses: its own state changes (RecordingCatalog.update). */
export interface CatalogWriter {
  /** undefined when the recording has no catalog entry (created without one, or deleted) */
  update(id: string, change: (current: CatalogRecording) => CatalogRecording): Promise<CatalogRecording | undefined>;
}

export type FinisherStorage = Pick<RecordingStorage, 'place' | 'localPath' | 'discardLocal' | 'discardObject'>;
export type FinisherVerification = Pick<VerificationQueue, 'enqueue' | 'settled'>;

export interface FinisherParts {
  recorderId: string;
  catalog: CatalogWriter;
  storage: FinisherStorage;
  verification: FinisherVerification;
  events: RecorderEvents;
  registry: RecordingRegistry;
  metrics: Pick<RecorderMetrics, 'verified'>;
  clock: Clock;
  logger: Logger;
}

/** Attempts at writing a recording's state change to the catalog before giving it to the reconciler. */
const CATALOG_WRITE_ATTEMPTS = 8;
const CATALOG_WRITE_PAUSE_MS = 1000;

type Written = { ok: true; entry: CatalogRecording | undefined } | { ok: false };

/**
 * What happens to a recording after its report: storage, catalog, `finished`, verification. Also the
 * recorder's other catalog writes, retried, and tracked so a shutdown waits for them before NATS closes.
 */
export class RecordingFinisher {
  /** catalog writes in flight */
  private readonly pendingWrites = new Set<Promise<void>>();
  /** set by the shutdown: the storage step and the retries of the last reports must fit before it */
  private deadline: number | undefined;

  constructor(private readonly parts: FinisherParts) {}

  finishBy(deadline: number): void {
    this.deadline = deadline;
  }

  /**
   * The steps after a report: the file goes where the storage setting says (STORAGE=nats: uploaded and
   * verified, or left local when that does not succeed in time), the catalog gets the report, `finished` is
   * published, and only then is a local copy that is now in the object store removed. Never rejects.
   */
  async finish(report: RecordingReport, options: { salvaged: boolean }): Promise<RecordingReport> {
    const { storage, registry, verification, clock, logger } = this.parts;
    const id = report.recordingId;
    const placed = await storage.place(report, this.deadline === undefined ? {} : { deadline: this.deadline });
    registry.remember(placed);
    const change = options.salvaged ? applySalvageReport : applyReport;
    const written = await this.write(id, (r) => change(r, placed, new Date(clock.now())));
    this.parts.events.recording({ type: 'finished', recordingId: id, report: placed, at: new Date(clock.now()).toISOString() });
    // queued after the report is in the catalog, so the fileCheck it writes lands on a done entry; with
    // STORAGE=nats the local copy (which it reads) stays until then (see discardLocal below)
    const verifying =
      placed.decodeCheck === 'pending' && verification.enqueue({ recordingId: id, sessionId: report.sessionId, path: storage.localPath(placed.fileName) });
    if (placed.storage === 'nats') {
      if (written.ok && (written.entry === undefined || written.entry.storage === 'nats')) {
        const discard = () => storage.discardLocal(placed.fileName).catch((err: unknown) => logger.warn({ err, recordingId: id }, 'local copy not removed'));
        // after its verification, in the background (not on the stop's path); a verification dropped at
        // shutdown settles at once, so the copy goes then (the reconciler removes any the service missed)
        if (verifying) void verification.settled(id).then(discard);
        else await discard();
      } else if (written.ok) {
        // the entry did not take the report (it was finished otherwise meanwhile): the local file stays its file
        await storage.discardObject(id);
        registry.remember({ ...placed, storage: 'local' });
      }
      // catalog unreachable: both copies stay; the reconciler removes the local one once the entry says nats
    }
    return registry.recentReport(id) ?? placed;
  }

  /** The catalog records what happened; a catalog problem never fails a recording. */
  async writeCatalog(id: string, change: (r: CatalogRecording) => CatalogRecording): Promise<void> {
    await this.write(id, change);
  }

  /** A background verification finished: the catalog's fileCheck, then `recording.verified`. */
  async verified(result: VerificationResult): Promise<void> {
    const { metrics, clock, events, recorderId } = this.parts;
    const id = result.job.recordingId;
    metrics.verified.inc({ mode: result.mode, result: result.fileCheck.decodesCleanly ? 'clean' : 'damaged' });
    await this.writeCatalog(id, (r) => applyFileCheck(r, result.fileCheck, new Date(clock.now())));
    events.verified({ type: 'verified', recordingId: id, recorderId, fileCheck: result.fileCheck, mode: result.mode, at: new Date(clock.now()).toISOString() });
  }

  /** Resolves when the catalog writes in flight now are through (or gave up). */
  async writesSettled(): Promise<void> {
    await Promise.allSettled([...this.pendingWrites]);
  }

  /**
   * One catalog write, retried: a NATS restart must not lose a state change made while it was away, and
   * without the report's write the recording would look unfinished until reconciled.
   */
  private write(id: string, change: (r: CatalogRecording) => CatalogRecording): Promise<Written> {
    const { catalog, clock, logger } = this.parts;
    const write = (async (): Promise<Written> => {
      for (let attempt = 1; ; attempt++) {
        try {
          const entry = await catalog.update(id, change);
          if (!entry) logger.debug({ recordingId: id }, 'recording has no catalog entry');
          return { ok: true, entry };
        } catch (err) {
          logger.error({ err, recordingId: id, attempt }, 'catalog update failed');
          if (attempt >= CATALOG_WRITE_ATTEMPTS || (this.deadline !== undefined && clock.now() + CATALOG_WRITE_PAUSE_MS > this.deadline)) return { ok: false };
          await clock.sleep(CATALOG_WRITE_PAUSE_MS * attempt);
        }
      }
    })();
    const tracked = write.then(() => undefined);
    this.pendingWrites.add(tracked);
    void tracked.finally(() => this.pendingWrites.delete(tracked));
    return write;
  }
}
