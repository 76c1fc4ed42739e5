/**
 * Asks the publisher for a keyframe at once and then every `intervalMs` until stopped. Medooze's
 * attachTo sends a single PLI; if that keyframe is lost, or arrives before the recorder listens, the
 * recording would start with undecodable frames. The recording stops this when the recorder reports
 * its first keyframe written.
 */
export class KeyframeRequester {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private sent = 0;

  constructor(
    private readonly request: () => void,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  get requestsSent(): number {
    return this.sent;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.stopped || this.timer) return;
    this.fire();
    this.timer = setInterval(() => this.fire(), this.intervalMs);
    this.timer.unref();
  }

  /** Idempotent; a stopped requester never starts again. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
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
