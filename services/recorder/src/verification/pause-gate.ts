/**
 * Paused or not, with listeners: the verification queue pauses its running decodes with it (SIGSTOP /
 * SIGCONT) while a recording starts on this recorder.
 */
export class PauseGate {
  private pausedValue = false;
  private readonly listeners = new Set<(paused: boolean) => void>();

  get paused(): boolean {
    return this.pausedValue;
  }

  set(paused: boolean): void {
    if (paused === this.pausedValue) return;
    this.pausedValue = paused;
    for (const listener of [...this.listeners]) listener(paused);
  }

  /** Calls `listener` on every change, and at once when paused now; returns the unsubscribe. */
  watch(listener: (paused: boolean) => void): () => void {
    this.listeners.add(listener);
    if (this.pausedValue) listener(true);
    return () => this.listeners.delete(listener);
  }
}
