import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplayMedia } from '@recstack/testkit';
import { startFrameFor } from './replay-start.js';

// a 10 s loop at 30 fps with a keyframe every 2 s (frames 0, 60, 120, 180, 240)
const media = {
  video: Array.from({ length: 300 }, (_, i) => ({ ts: i * 3000, keyframe: i % 60 === 0, packets: [] })),
  keyframes: [0, 60, 120, 180, 240],
  videoLoopTicks: 900_000,
} as unknown as ReplayMedia;

test('unaligned publishers start at once, each at a keyframe of its own slot', () => {
  assert.deepEqual(startFrameFor(media, 0, undefined), { startFrame: 0, startDelayMs: 0 });
  assert.deepEqual(startFrameFor(media, 7, undefined), { startFrame: 120, startDelayMs: 0 });
  assert.deepEqual(
    [0, 7, 14, 21, 28].map((s) => startFrameFor(media, s, undefined).startFrame).sort((a, b) => a - b),
    [0, 60, 120, 180, 240],
    'slots 7 apart cover every keyframe',
  );
});

test("aligned publishers wait for the common clock's next keyframe, wherever they join", () => {
  const epoch = 1_000_000;
  assert.deepEqual(startFrameFor(media, 3, epoch, epoch), { startFrame: 0, startDelayMs: 0 });
  assert.deepEqual(startFrameFor(media, 3, epoch, epoch + 2500), { startFrame: 120, startDelayMs: 1500 });
  // past the loop's last keyframe: the first of the next loop
  assert.deepEqual(startFrameFor(media, 3, epoch, epoch + 38_500), { startFrame: 0, startDelayMs: 1500 });
  // two publishers joining at different moments send their keyframes at the same instants
  const a = startFrameFor(media, 0, epoch, epoch + 100);
  const b = startFrameFor(media, 9, epoch, epoch + 1700);
  assert.equal(100 + a.startDelayMs - (a.startFrame / 30) * 1000, 1700 + b.startDelayMs - (b.startFrame / 30) * 1000);
});
