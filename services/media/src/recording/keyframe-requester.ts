import { systemClock, type Clock } from '@recstack/service-kit';

/**
 * Asks the publisher for a keyframe at once and then every `intervalMs` until stopped. Medooze's
 * attachTo sends a single PLI; if that keyframe is lost, or arrives before the recorder listens, the
 * recording would start with undecodable frames. The recording stops this when the recorder reports
 * its first keyframe written.
 */
export class KeyframeRequester {
  private stopTimer: (() => void) | undefined;
  private stopped = false;
  private sent = 0;

  constructor(
    private readonly request: () => void,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  get requestsSent(): number {
    return this.sent;
  }

  get running(): boolean {
    return this.stopTimer !== undefined;
  }

  start(): void {
    if (this.stopped || this.stopTimer) return;
    this.fire();
    this.stopTimer = this.clock.every(() => this.fire(), this.intervalMs);
  }

  /** Idempotent; a stopped requester never starts again. */
  stop(): void {
    this.stopped = true;
    this.stopTimer?.();
    this.stopTimer = undefined;
  }

  private fire(): void {
    try {
      this.request();
      this.sent++;
    } catch (err) {
      this.onError(err);
    }
  }
}
