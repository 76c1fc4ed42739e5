import type { ReplayMedia } from '@recstack/testkit';

/** How a publisher plays the loop: where it starts, after how long, and how far its keyframes are shifted. */
export interface ReplayStart {
  /** a keyframe index into media.video: the first frame sent is always a keyframe */
  startFrame: number;
  startDelayMs: number;
  /** ms by which its keyframes come earlier than the file's cadence (VideoScheduleOptions.phaseShiftMs) */
  phaseShiftMs: number;
}

/** 1/φ: the fractional parts of i/φ spread over [0, 1) as evenly as any sequence can, whatever the count. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** Publisher `index`'s fraction of the keyframe interval (deterministic: a run's phases are the same every time). */
export function keyframePhase(index: number): number {
  return (index * GOLDEN) % 1;
}

/**
 * Where publisher `index` starts in the loop. Unaligned: at once, at a keyframe of its own (`index` × 7 mod
 * the loop's keyframes, so the pictures differ), with its keyframe times shifted by its own fraction of the
 * keyframe interval: publishers started together send their first keyframes together (a real sender starts
 * with one) and every later one at their own instants. Aligned: every publisher plays the loop on one wall
 * clock from `alignEpochMs` and joins at its next keyframe, so all keyframes fall at the same instants (the
 * burst worst case). `nowMs` is Date.now().
 */
export function replayStart(m: ReplayMedia, index: number, alignEpochMs: number | undefined, nowMs = Date.now()): ReplayStart {
  if (alignEpochMs === undefined) {
    const intervalMs = keyframeIntervalMs(m);
    return { startFrame: m.keyframes[(index * 7) % m.keyframes.length] ?? 0, startDelayMs: 0, phaseShiftMs: keyframePhase(index) * intervalMs };
  }
  // aligned: everybody plays the loop on one wall clock; join at its next keyframe
  const loopMs = m.videoLoopTicks / 90;
  const at = (nowMs - alignEpochMs) % loopMs;
  for (const k of m.keyframes) {
    const kfMs = (m.video[k]?.ts ?? 0) / 90;
    if (kfMs >= at) return { startFrame: k, startDelayMs: kfMs - at, phaseShiftMs: 0 };
  }
  // past the loop's last keyframe: the first one of the next loop
  return { startFrame: m.keyframes[0] ?? 0, startDelayMs: loopMs - at, phaseShiftMs: 0 };
}

/** The file's keyframe interval (its first two keyframes; a loop of one keyframe: the loop). */
function keyframeIntervalMs(m: ReplayMedia): number {
  const [a, b] = m.keyframes;
  if (a === undefined || b === undefined) return m.videoLoopTicks / 90;
  return ((m.video[b]?.ts ?? 0) - (m.video[a]?.ts ?? 0)) / 90;
}
