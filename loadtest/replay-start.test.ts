import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VideoSchedule, type ReplayMedia } from '@recstack/testkit';
import { keyframePhase, replayStart } from './replay-start.js';

// a 10 s loop at 30 fps with a keyframe every 2 s (frames 0, 60, 120, 180, 240); one packet a frame whose
// first payload byte says whether it is a keyframe's
const media = {
  video: Array.from({ length: 300 }, (_, i) => {
    const packet = Buffer.alloc(20);
    packet[0] = 0x80;
    packet[12] = i % 60 === 0 ? 1 : 0;
    return { ts: i * 3000, keyframe: i % 60 === 0, packets: [packet] };
  }),
  keyframes: [0, 60, 120, 180, 240],
  videoLoopTicks: 900_000,
} as unknown as ReplayMedia;
const INTERVAL_MS = 2000;
const FRAME_MS = 1000 / 30;

/** When (ms) each publisher sends a keyframe, all started at 0 (or at their start delay) and run for `ms`. */
function keyframeTimes(starts: ReturnType<typeof replayStart>[], ms: number): number[][] {
  return starts.map((s) => {
    const schedule = new VideoSchedule(media, {
      startFrame: s.startFrame,
      startAt: s.startDelayMs,
      pacingKbps: 0,
      firstSeq: 0,
      firstTs: 0,
      phaseShiftMs: s.phaseShiftMs,
    });
    const times: number[] = [];
    for (let now = 0; now <= ms; now += 1) schedule.due(now, (p) => p[12] === 1 && times.push(now));
    return times;
  });
}

/** The phases (ms into the interval) of keyframe times, rounded to whole frames. */
const phases = (times: number[]) => [...new Set(times.map((t) => Math.round((t % INTERVAL_MS) / FRAME_MS) % Math.round(INTERVAL_MS / FRAME_MS)))];

test('the golden-ratio phases are deterministic and spread over the interval', () => {
  assert.equal(keyframePhase(0), 0);
  assert.equal(keyframePhase(5), keyframePhase(5));
  for (const n of [4, 10, 25, 100]) {
    const sorted = Array.from({ length: n }, (_, i) => keyframePhase(i)).sort((a, b) => a - b);
    const gaps = sorted.map((p, i) => (sorted[i + 1] ?? 1 + (sorted[0] ?? 0)) - p);
    assert.ok(Math.max(...gaps) <= 2.7 / n, `${n} publishers: largest gap ${Math.max(...gaps)} of the interval`);
  }
});

test('unaligned publishers started together: the first frame is a keyframe, the later keyframes spread over the interval', () => {
  const n = 10;
  const starts = Array.from({ length: n }, (_, i) => replayStart(media, i, undefined));
  assert.ok(starts.every((s) => s.startDelayMs === 0 && media.keyframes.includes(s.startFrame)));
  const times = keyframeTimes(starts, 9000);
  for (const [i, t] of times.entries()) {
    assert.equal(t[0], 0, `publisher ${i} starts with a keyframe, at once`);
    // after the first: one keyframe per interval, each at this publisher's own phase
    const later = t.slice(1);
    assert.ok(later.length >= 4, `publisher ${i}: ${later.join(', ')}`);
    later.slice(1).forEach((x, k) => assert.ok(Math.abs(x - (later[k] as number) - INTERVAL_MS) <= 1, `publisher ${i}: keyframes ${later.join(', ')}`));
    assert.equal(phases(later).length, 1, `publisher ${i} keeps its phase`);
  }
  const own = times.map((t) => phases(t.slice(1))[0] as number);
  assert.equal(new Set(own).size, n, `every publisher its own instant in the interval (frames ${own.join(', ')})`);
  const sorted = [...own].sort((a, b) => a - b);
  const framesPerInterval = INTERVAL_MS / FRAME_MS;
  const gaps = sorted.map((p, i) => (sorted[i + 1] ?? framesPerInterval + (sorted[0] ?? 0)) - p);
  assert.ok(Math.max(...gaps) <= (2.7 * framesPerInterval) / n, `spread over the interval: gaps of ${gaps.join(', ')} frames`);
});

test('aligned publishers started together send every keyframe at the same instants', () => {
  const epoch = 1_000_000;
  const starts = Array.from({ length: 10 }, (_, i) => replayStart(media, i, epoch, epoch + 700));
  const times = keyframeTimes(starts, 9000);
  assert.ok((times[0] ?? []).length >= 4);
  for (const t of times) assert.deepEqual(t, times[0]);
  assert.equal(times[0]?.[0], 1300, 'the first at the common clock’s next keyframe');
});

test("aligned publishers wait for the common clock's next keyframe, wherever they join", () => {
  const epoch = 1_000_000;
  assert.deepEqual(replayStart(media, 3, epoch, epoch), { startFrame: 0, startDelayMs: 0, phaseShiftMs: 0 });
  assert.deepEqual(replayStart(media, 3, epoch, epoch + 2500), { startFrame: 120, startDelayMs: 1500, phaseShiftMs: 0 });
  // past the loop's last keyframe: the first of the next loop
  assert.deepEqual(replayStart(media, 3, epoch, epoch + 38_500), { startFrame: 0, startDelayMs: 1500, phaseShiftMs: 0 });
  // two publishers joining at different moments send their keyframes at the same instants
  const a = replayStart(media, 0, epoch, epoch + 100);
  const b = replayStart(media, 9, epoch, epoch + 1700);
  assert.equal(100 + a.startDelayMs - (a.startFrame / 30) * 1000, 1700 + b.startDelayMs - (b.startFrame / 30) * 1000);
});

test('unaligned publishers start at keyframes of their own, so the pictures differ too', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((i) => replayStart(media, i, undefined).startFrame).sort((a, b) => a - b),
    [0, 60, 120, 180, 240],
  );
});
