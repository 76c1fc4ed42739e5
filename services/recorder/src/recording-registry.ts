import type { RecordingReport } from '@recstack/contracts';
import type { RecordingJob } from './recording-job.js';

/** Reports of recordings that ended, kept a while so a late stop request still gets its answer. */
const RECENT_REPORTS = 500;

/**
 * The recordings this recorder knows, by where they are: running (a job with its child), finishing (between
 * the report and its last step: join, upload, catalog, event; also the salvages of adopted recordings), and
 * recent (ended, their final report kept for late stops). A recording is in at most one of running and
 * finishing, and a finishing one is registered before it leaves the running set, so a stop always finds it.
 */
export class RecordingRegistry {
  private readonly jobs = new Map<string, RecordingJob>();
  private readonly finals = new Map<string, Promise<RecordingReport>>();
  private readonly recent = new Map<string, RecordingReport>();
  /** recordings whose segment here is being stopped for a handover: no catalog write, no `finished` */
  private readonly handedOver = new Set<string>();
  private readonly emptyWaiters: Array<() => void> = [];

  get runningCount(): number {
    return this.jobs.size;
  }

  running(id: string): RecordingJob | undefined {
    return this.jobs.get(id);
  }

  runningIds(): string[] {
    return [...this.jobs.keys()];
  }

  runningJobs(): RecordingJob[] {
    return [...this.jobs.values()];
  }

  addRunning(job: RecordingJob): void {
    this.jobs.set(job.plan.recordingId, job);
  }

  /** The job left the running set (its start failed, or it finished): waiters for an empty recorder may go on. */
  removeRunning(id: string): void {
    this.jobs.delete(id);
    if (this.jobs.size > 0) return;
    for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  /** Resolves once no recording runs here (at once when none does). */
  whenEmpty(): Promise<void> {
    if (this.jobs.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.emptyWaiters.push(resolve));
  }

  finishing(id: string): Promise<RecordingReport> | undefined {
    return this.finals.get(id);
  }

  finishingReports(): Array<Promise<RecordingReport>> {
    return [...this.finals.values()];
  }

  /** `work` finishes the recording `id`: registered until it settles (a later registration replaces it). */
  trackFinishing(id: string, work: Promise<RecordingReport>): void {
    this.finals.set(id, work);
    void work.then(
      () => this.untrack(id, work),
      () => this.untrack(id, work),
    );
  }

  recentReport(id: string): RecordingReport | undefined {
    return this.recent.get(id);
  }

  remember(report: RecordingReport): void {
    this.recent.set(report.recordingId, report);
    if (this.recent.size > RECENT_REPORTS) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /** Running, finishing or recently ended here: a new start with this id is a conflict. */
  knows(id: string): boolean {
    return this.jobs.has(id) || this.finals.has(id) || this.recent.has(id);
  }

  /** Running or finishing here. */
  holds(id: string): boolean {
    return this.jobs.has(id) || this.finals.has(id);
  }

  heldIds(): string[] {
    return [...new Set([...this.jobs.keys(), ...this.finals.keys()])];
  }

  markHandedOver(id: string): void {
    this.handedOver.add(id);
  }

  isHandedOver(id: string): boolean {
    return this.handedOver.has(id);
  }

  /** True (once) when the recording's segment here was handed over. */
  takeHandedOver(id: string): boolean {
    return this.handedOver.delete(id);
  }

  private untrack(id: string, work: Promise<RecordingReport>): void {
    if (this.finals.get(id) === work) this.finals.delete(id);
  }
}
