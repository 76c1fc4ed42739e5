interface PendingTimer {
  seq: number;
  at: number;
  fn: () => void;
  /** set for a repeating timer */
  everyMs?: number;
}

/** Lets every promise callback that is ready run (fakes resolve at once; their continuations need turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when a test says so (the shape of service-kit's `Clock`): the code under test
 * schedules on it, the test advances it and every timer due on the way fires at its own time, in order.
 */
export class ManualClock {
  private time: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(fn: () => void, ms: number): () => void {
    return this.add({ seq: this.seq++, at: this.time + Math.max(0, ms), fn });
  }

  every(fn: () => void, ms: number): () => void {
    const everyMs = Math.max(1, ms);
    return this.add({ seq: this.seq++, at: this.time + everyMs, fn, everyMs });
  }

  /** how many timers wait to fire */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time on by `ms`, firing what falls due in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.time = next.at;
      if (next.everyMs === undefined) this.timers = this.timers.filter((t) => t !== next);
      else next.at += next.everyMs;
      next.fn();
    }
    this.time = end;
    await settle();
  }

  private add(timer: PendingTimer): () => void {
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
}
