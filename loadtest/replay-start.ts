import type { ReplayMedia } from '@recstack/testkit';

/**
 * Where a publisher starts in the loop. Unaligned: at keyframe `slot` (mod their number), at once, so
 * publishers started together still have their keyframes at different instants. Aligned: every publisher
 * plays the loop on one wall clock from `alignEpochMs` and joins at its next keyframe, so all keyframes fall
 * at the same instants (the burst worst case). `nowMs` is Date.now().
 */
export function startFrameFor(
  m: ReplayMedia,
  slot: number,
  alignEpochMs: number | undefined,
  nowMs = Date.now(),
): { startFrame: number; startDelayMs: number } {
  if (alignEpochMs === undefined) return { startFrame: m.keyframes[slot % m.keyframes.length] ?? 0, startDelayMs: 0 };
  // aligned: everybody plays the loop on one wall clock; join at its next keyframe
  const loopMs = m.videoLoopTicks / 90;
  const at = (nowMs - alignEpochMs) % loopMs;
  for (const k of m.keyframes) {
    const kfMs = (m.video[k]?.ts ?? 0) / 90;
    if (kfMs >= at) return { startFrame: k, startDelayMs: kfMs - at };
  }
  // past the loop's last keyframe: the first one of the next loop
  return { startFrame: m.keyframes[0] ?? 0, startDelayMs: loopMs - at };
}
