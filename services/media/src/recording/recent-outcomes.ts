/**
 * Remembers how recent recordings ended, for a while, so a stop request that arrives after the recorder
 * ended a recording on its own (RTP timeout, publisher left) still gets the report instead of an error.
 * Bounded in size and age.
 */
export class RecentOutcomes<T> {
  private readonly entries = new Map<string, { value: T; at: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  set(id: string, value: T): void {
    this.entries.delete(id);
    this.entries.set(id, { value, at: this.now() });
    this.prune();
  }

  get(id: string): T | undefined {
    this.prune();
    return this.entries.get(id)?.value;
  }

  get size(): number {
    this.prune();
    return this.entries.size;
  }

  private prune(): void {
    const oldest = this.now() - this.maxAgeMs;
    // insertion order is age order, so the stale ones are at the front
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.at > oldest) break;
      this.entries.delete(id);
    }
  }
}
