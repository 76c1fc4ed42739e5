import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gapsBetween, type ReadySegment } from './join-segments.js';

const seg = (startedAt: string | null, durationMs: number, recorderId = 'rcd_a'): ReadySegment => ({
  segment: { recorderId, startedAt, endedAt: null, file: `${recorderId}.mp4` },
  path: `/tmp/${recorderId}.mp4`,
  durationMs,
});

test('a crash: the time from the end of the first segment to the first keyframe of the next is one gap, placed where the next begins', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 5000), seg('2026-01-01T00:00:06.200Z', 9000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [{ atMs: 5000, ms: 1200 }]);
});

test('a drain that overlaps (the new recorder started before the old one stopped) declares no gap', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 6000), seg('2026-01-01T00:00:05.800Z', 9000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), []);
});

test('a first segment whose file is nowhere is missing time from the recording start', () => {
  const ready = [seg('2026-01-01T00:00:07.000Z', 8000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [{ atMs: 0, ms: 7000 }]);
});

test('two handovers: two gaps, each at the joined time of its segment', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 3000), seg('2026-01-01T00:00:03.500Z', 4000, 'rcd_b'), seg('2026-01-01T00:00:08.000Z', 2000, 'rcd_c')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), [
    { atMs: 3000, ms: 500 },
    { atMs: 7000, ms: 500 },
  ]);
});

test('a segment without a known start declares nothing it cannot measure', () => {
  const ready = [seg('2026-01-01T00:00:00.000Z', 3000), seg(null, 4000, 'rcd_b')];
  assert.deepEqual(gapsBetween(ready, '2026-01-01T00:00:00.000Z'), []);
});
