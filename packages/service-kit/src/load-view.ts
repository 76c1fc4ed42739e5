import { systemClock, type Clock } from './clock.js';

/** a peer not heard from for this many refreshes in a row is dropped: one late pong (a busy peer, a busy machine) is not enough */
const STALE_AFTER_REFRESHES = 3;

export interface LoadViewOptions<L> {
  /** how often the peers are asked */
  refreshMs: number;
  /** asks every peer for its load (a ping gathered for a while); one entry per peer that answered */
  poll: () => Promise<readonly L[]>;
  idOf: (load: L) => string;
  /** a refresh failed; not called once closed (the connection may close under a refresh at shutdown) */
  onError: (err: unknown) => void;
  clock?: Clock;
}

/**
 * Where each peer stands, from their answers to a periodic ping: the view signaling keeps of the media
 * instances and media keeps of the recorders, to place work on the least loaded one. Entries are the
 * loads as given and stay mutable, so that a placement between two refreshes can be counted in by its
 * owner until the next answer replaces the entry.
 */
export class LoadView<L> {
  private readonly entries = new Map<string, { load: L; seenAt: number }>();
  private readonly clock: Clock;
  private stopTimer: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: LoadViewOptions<L>) {
    this.clock = options.clock ?? systemClock;
  }

  /** Refreshes now and then every `refreshMs` until closed. */
  start(): void {
    if (this.stopTimer || this.closed) return;
    void this.refresh();
    this.stopTimer = this.clock.every(() => void this.refresh(), this.options.refreshMs);
  }

  close(): void {
    this.closed = true;
    this.stopTimer?.();
    this.stopTimer = undefined;
    this.entries.clear();
  }

  /** Asks every peer for its load; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.options
      .poll()
      .then((loads) => {
        if (this.closed) return;
        const now = this.clock.now();
        for (const load of loads) this.entries.set(this.options.idOf(load), { load, seenAt: now });
        for (const [id, e] of this.entries) if (this.isStale(e.seenAt, now)) this.entries.delete(id);
      })
      .catch((err: unknown) => {
        if (!this.closed) this.options.onError(err);
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** The peers heard from recently enough to say something about now, but `exclude`. */
  fresh(exclude?: string): L[] {
    const now = this.clock.now();
    return [...this.entries].filter(([id, e]) => id !== exclude && !this.isStale(e.seenAt, now)).map(([, e]) => e.load);
  }

  /** A peer's last known load (stale or not), to count a placement in. */
  get(id: string): L | undefined {
    return this.entries.get(id)?.load;
  }

  /** Drops a peer until it answers again (it did not answer on its own subject). */
  forget(id: string): void {
    this.entries.delete(id);
  }

  private isStale(seenAt: number, now: number): boolean {
    return now - seenAt > STALE_AFTER_REFRESHES * this.options.refreshMs;
  }
}
