import { systemClock, type Clock } from '@recstack/service-kit';
/**
 * Keyframe requests on an unrepaired video gap.
 *
 * Medooze forwards a publisher's video in sequence order and holds the packets behind a missing one while the
 * NACKed packet may still come (the "hold": with RTX max(200 ms, 3 × RTT) up to 750 ms, Medooze's rule; without
 * RTX media's MEDIA_NACK_WAIT_MS). When the hold expires, the missing packet is given up and its successors are
 * forwarded: the frame it belonged to, and every frame after it up to the next keyframe, cannot decode. The
 * Streamer renumbers what it forwards, so the recorder never sees the hole as a sequence gap; only media can
 * tell. Its signal: Medooze records how long each forwarded packet waited (`maxWaitedTime`, the longest in its
 * last second). A packet that waited the whole hold was released because the hold expired, i.e. its
 * predecessor was given up; a repaired packet releases its successors sooner.
 */

/** What the video track shows now: the longest wait of a forwarded packet in Medooze's last second, and the hold. */
export interface HoldSample {
  maxWaitedMs: number;
  holdMs: number;
}

/**
 * Medooze's window for `maxWaitedTime` is one second: a give-up stays visible that long. One request is
 * outstanding at a time: the next may follow only once the give-up that caused it has left the window, so one
 * gap makes one request (Medooze itself also ignores a PLI within 500 ms of the last one).
 */
export const GAP_KEYFRAME_MIN_INTERVAL_MS = 1100;
/** how often the track is looked at while recorded: a give-up is acted on within this */
export const GAP_POLL_MS = 100;
/**
 * A packet counts as released by the hold when it waited at least this share of it: the hold follows the RTT,
 * which may have moved since, and a repair arriving that late is rare (a needless PLI is its only cost).
 */
const HOLD_SHARE = 0.8;

/** The hold Medooze applies to a video track (ms): our override without RTX, its own rule with RTX. */
export function videoHoldMs(hasRtx: boolean, rttMs: number, nackWaitMs: number): number {
  if (!hasRtx) return nackWaitMs;
  return Math.min(750, Math.max(200, rttMs) * 3);
}

/**
 * Decides, sample by sample, when a given-up packet calls for a keyframe. Pure: the clock is passed in.
 *
 * Media cannot see whether a keyframe answered (the encoder may skip one under its rate control, or it may
 * arrive damaged). In the loss e2e about one H264 run in five kept its damage to the end of the file after a
 * request, with nothing more given up; so the last request of a series of give-ups is followed by one more,
 * an interval later.
 */
export class GapKeyframeTrigger {
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private followUpPending = false;
  private followUp = false;

  constructor(private readonly minIntervalMs: number = GAP_KEYFRAME_MIN_INTERVAL_MS) {}

  /** whether the last request was the follow-up (nothing new given up) */
  get lastWasFollowUp(): boolean {
    return this.followUp;
  }

  /** True when a keyframe should be requested now (and counts it as requested at `nowMs`). */
  observe(sample: HoldSample, nowMs: number): boolean {
    if (nowMs - this.lastRequestAt < this.minIntervalMs) return false;
    // without a hold every packet "waited the whole hold": nothing can be told apart
    const givenUp = sample.holdMs > 0 && sample.maxWaitedMs >= sample.holdMs * HOLD_SHARE;
    if (!givenUp && !this.followUpPending) return false;
    this.followUp = !givenUp;
    this.followUpPending = givenUp;
    this.lastRequestAt = nowMs;
    return true;
  }
}

export interface GapKeyframeWatchOptions {
  /** the poll's timer and the time (the system's by default) */
  clock?: Clock;
  /** the video track's sample; undefined when there is none (connection closed) */
  probe: () => HoldSample | undefined;
  /** sends the PLI; false when it could not */
  request: () => boolean;
  onRequested: (sample: HoldSample, followUp: boolean) => void;
  onError: (err: unknown) => void;
  pollMs?: number;
  minIntervalMs?: number;
  now?: () => number;
}

/** Polls a recorded video track and asks for a keyframe when a packet was given up. */
export class GapKeyframeWatch {
  private cancel: (() => void) | undefined;
  private stopped = false;
  private sent = 0;
  private readonly trigger: GapKeyframeTrigger;
  private readonly now: () => number;

  constructor(private readonly options: GapKeyframeWatchOptions) {
    this.trigger = new GapKeyframeTrigger(options.minIntervalMs);
    this.now = options.now ?? (() => (options.clock ?? systemClock).now());
  }

  get requestsSent(): number {
    return this.sent;
  }

  start(): void {
    if (this.stopped || this.cancel) return;
    this.cancel = (this.options.clock ?? systemClock).every(() => this.check(), this.options.pollMs ?? GAP_POLL_MS);
  }

  /** Idempotent; a stopped watch never starts again. */
  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
  }

  private check(): void {
    try {
      const sample = this.options.probe();
      if (!sample || !this.trigger.observe(sample, this.now())) return;
      if (!this.options.request()) return;
      this.sent++;
      this.options.onRequested(sample, this.trigger.lastWasFollowUp);
    } catch (err) {
      this.options.onError(err);
    }
  }
}
