import type { Clock, Timer } from '../clock.js';

interface Pending {
  at: number;
  order: number;
  fn: () => void;
}

/** Lets promise continuations and callbacks queued by them run (a few turns of the event loop). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A clock that moves only when the test says so: timers fire in time order during advance(). */
export class FakeClock implements Clock {
  private current: number;
  private order = 0;
  private readonly timers: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  after(ms: number, fn: () => void): Timer {
    const timer: Pending = { at: this.current + Math.max(0, ms), order: this.order++, fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        const index = this.timers.indexOf(timer);
        if (index >= 0) this.timers.splice(index, 1);
      },
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => this.after(ms, resolve));
  }

  /** Timers not fired yet. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`; each due timer fires at its own time, and what it started runs before the next. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.current = next.at;
      next.fn();
      await settle();
    }
    this.current = end;
    await settle();
  }
}
