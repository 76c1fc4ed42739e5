import { test } from 'node:test';
import assert from 'node:assert/strict';
import { busiestSecond, chooseLattice, h264TickRate, latticeRate, retime, settsExpression, UNITS_PER_SECOND } from './timestamp-lattice.js';

/*
 * The FFmpeg 5.1 behaviour these tests hold the lattice against, transcribed from libavformat/demux.c
 * (ff_rfps_add_frame, ff_rfps_calculate, the 20/40-packet analysis) and fftools/ffmpeg.c (null output:
 * vsync passthrough, frame time → llrint in the encoder time base 1/rate after subtracting the start).
 */

/** r_frame_rate from the gcd rule, or undefined when FFmpeg would fall back to its standard-rate search. */
function ffmpegGcdRate(times: readonly number[], unitsPerSecond: number): number | undefined {
  const analysed = unitsPerSecond === 1000 ? 40 : 20; // time bases coarser than 0.5 ms: twice as many
  let gcdAll = 0;
  let count = 0;
  for (let i = 1; i < Math.min(times.length, analysed + 1); i++) {
    const d = (times[i] as number) - (times[i - 1] as number);
    if (d <= 0) continue;
    count++;
    if (count > 3) gcdAll = gcd(gcdAll, d);
  }
  if (count <= 15 || gcdAll <= Math.max(1, Math.floor(unitsPerSecond / 500))) return undefined;
  return unitsPerSecond / gcdAll;
}

/** The null muxer's dts for each frame: llrint((t − start) · rate), as ffmpeg.c computes it. */
function nullMuxerTicks(times: readonly number[], unitsPerSecond: number, rate: number, start: number): number[] {
  return times.map((t) => {
    const x = ((t - start) * rate) / unitsPerSecond;
    // ffmpeg.c nudges exact midpoints up by 2^-17 before rounding
    return Math.round(x + Math.sign(x) / 2 ** 17);
  });
}

function collisions(ticks: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < ticks.length; i++) if ((ticks[i] as number) <= (ticks[i - 1] as number)) n++;
  return n;
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y) [x, y] = [y, x % y];
  return x;
}

/** deterministic pseudo-random numbers in [0, 1) */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KHZ90 = 90_000;
const ms = (v: number, units = KHZ90) => Math.round((v * units) / 1000);

/** frame times from intervals in ms, starting at `startMs` */
function fromIntervals(intervalsMs: readonly number[], units = KHZ90, startMs = 1234.5): number[] {
  const out = [ms(startMs, units)];
  let t = startMs;
  for (const d of intervalsMs) {
    t += d;
    out.push(ms(t, units));
  }
  return out;
}

const SEQUENCES: Record<string, number[]> = {
  'jitter ±2 ms around 50 ms': (() => {
    const r = random(1);
    return Array.from({ length: 600 }, () => 50 + (r() * 4 - 2));
  })(),
  'bursts 76/24 every 10th frame': Array.from({ length: 600 }, (_, i) => (i % 10 === 5 ? 76 : i % 10 === 6 ? 24 : 50)),
  'drift: 49.6 ms frames': Array.from({ length: 2000 }, () => 49.6),
  'drift: 50.4 ms frames': Array.from({ length: 2000 }, () => 50.4),
  '15 → 30 fps': [...Array.from({ length: 60 }, () => 66.67), ...Array.from({ length: 600 }, () => 33.33)],
  '30 → 15 fps': [...Array.from({ length: 90 }, () => 33.33), ...Array.from({ length: 300 }, () => 66.67)],
  'resolution change: 162/74/25 around a big keyframe': Array.from({ length: 400 }, (_, i) => [50, 162, 74, 25][i % 40 === 0 ? 1 : i % 40 === 1 ? 2 : i % 40 === 2 ? 3 : 0] as number),
  'gaps of 2 s': Array.from({ length: 400 }, (_, i) => (i % 97 === 50 ? 2000 : 33.33)),
  'stall: 22 frames with one timestamp': Array.from({ length: 300 }, (_, i) => (i >= 100 && i < 122 ? 0 : 33.33)),
  'exact 30 fps (needs frame 16 moved)': Array.from({ length: 300 }, () => 100 / 3),
  'exact 20 fps (needs frame 16 moved)': Array.from({ length: 300 }, () => 50),
  'FFmpeg RTP split keyframes: an extra packet 1 tick before each keyframe': Array.from({ length: 300 }, (_, i) => (i % 31 === 0 ? 1 / 90 : i % 31 === 1 ? 33.33 - 1 / 90 : 33.33)),
  'jitter ±12 ms at 30 fps': (() => {
    const r = random(7);
    return Array.from({ length: 900 }, () => 33.33 + (r() * 24 - 12));
  })(),
};

for (const [unitsName, units] of [['MP4 (90 kHz)', KHZ90], ['Matroska (ms)', 1000]] as const) {
  const container = units === KHZ90 ? 'mp4' : 'matroska';
  for (const [name, intervals] of Object.entries(SEQUENCES)) {
    test(`${unitsName}, ${name}: FFmpeg's rate is the lattice's and no two frames share a tick`, () => {
      const times = fromIntervals(intervals, units);
      const lattice = chooseLattice(container, times);
      assert.equal(lattice.unitsPerSecond, UNITS_PER_SECOND[container]);
      const { times: out, maxShift } = retime(times, lattice.step);
      assert.equal(out.length, times.length);
      for (let i = 0; i < out.length; i++) {
        assert.equal(((out[i] as number) - (out[0] as number)) % lattice.step, 0, `frame ${i} is on the lattice`);
        if (i > 0) assert.ok((out[i] as number) > (out[i - 1] as number), `frame ${i} comes after frame ${i - 1}`);
      }
      const rate = ffmpegGcdRate(out, units);
      assert.equal(rate, latticeRate(lattice), 'the gcd rule gives the lattice rate');
      // whatever the other track's start (the file's start time), consecutive frames get distinct ticks
      for (const offset of [0, 0.25, 0.5, 0.499, 0.501, 0.75, 0.9999]) {
        const start = (out[0] as number) - offset * lattice.step - 3 * lattice.step;
        assert.equal(collisions(nullMuxerTicks(out, units, rate as number, start)), 0, `start offset ${offset} step`);
      }
      // frames move by less than a lattice step unless others crowd them (bursts, stalls, frame 16)
      const stalled = name.startsWith('stall');
      assert.ok(maxShift <= (stalled ? 23 : 3) * lattice.step, `max shift ${maxShift} units`);
    });
  }
}

test('the same sequences collide without the lattice, so the cases above are real', () => {
  let colliding = 0;
  for (const intervals of Object.values(SEQUENCES)) {
    const times = fromIntervals(intervals);
    // what FFmpeg guesses for jittery content: the nominal standard rate (its std-rate search)
    for (const rate of [20, 30]) {
      for (const offset of [0, 0.2, 0.4, 0.6, 0.8]) {
        if (collisions(nullMuxerTicks(times, KHZ90, rate, (times[0] as number) - (offset * KHZ90) / rate)) > 0) {
          colliding++;
          break;
        }
      }
    }
  }
  assert.ok(colliding >= 10, `${colliding} of ${Object.keys(SEQUENCES).length * 2} sequence/rate pairs collide`);
});

test('a frame moves to its nearest lattice point: at most half a step when nothing crowds it', () => {
  const r = random(3);
  const times = fromIntervals(Array.from({ length: 500 }, () => 33.33 + (r() * 6 - 3)));
  const { times: out, pushed } = retime(times, 1500);
  assert.ok(pushed <= 1, `only frame 16 may be moved further (pushed ${pushed})`);
  out.forEach((t, i) => {
    if (i !== 16) assert.ok(Math.abs(t - (times[i] as number)) <= 750, `frame ${i} moved ${t - (times[i] as number)}`);
  });
});

test('regular content gets exactly one frame moved, by one step, to make the gcd one step', () => {
  const times = fromIntervals(Array.from({ length: 100 }, () => 100 / 3));
  const { times: out, pushed } = retime(times, 1500);
  assert.equal(pushed, 1);
  const moved = out.map((t, i) => t - (times[i] as number)).map((d, i) => [i, d] as const).filter(([, d]) => Math.abs(d) > 1);
  assert.deepEqual(moved.map(([i]) => i), [16]);
  assert.equal(Math.abs((moved[0] as readonly [number, number])[1]), 1500);
});

test('a cascade after a burst dies out: later frames are back on their nearest points', () => {
  const intervals = [...Array.from({ length: 50 }, () => 50), 1, 1, 1, 1, ...Array.from({ length: 50 }, () => 50)];
  const times = fromIntervals(intervals);
  const { times: out } = retime(times, 1500);
  for (let i = 60; i < out.length; i++) assert.ok(Math.abs((out[i] as number) - (times[i] as number)) <= 750);
});

test('short recordings (fewer frames than FFmpeg analyses) stay on the lattice and never collide', () => {
  for (let n = 1; n <= 20; n++) {
    const times = fromIntervals(Array.from({ length: n - 1 }, (_, i) => (i % 3 === 2 ? 20 : 40)));
    const { times: out } = retime(times, 1500);
    for (let i = 1; i < out.length; i++) assert.ok((out[i] as number) > (out[i - 1] as number));
    assert.equal(collisions(nullMuxerTicks(out, KHZ90, 60, out[0] as number)), 0);
  }
});

test('the lattice is chosen from the busiest second: finer for 60 fps, coarsest for webcams', () => {
  assert.equal(chooseLattice('mp4', fromIntervals(Array.from({ length: 300 }, () => 33.3))).step, 1500);
  assert.equal(chooseLattice('mp4', fromIntervals(Array.from({ length: 300 }, () => 16.7))).step, 750);
  assert.equal(chooseLattice('mp4', fromIntervals(Array.from({ length: 300 }, () => 8))).step, 450);
  assert.equal(chooseLattice('matroska', fromIntervals(Array.from({ length: 300 }, () => 16.7), 1000)).step, 10);
  assert.equal(chooseLattice('matroska', fromIntervals(Array.from({ length: 300 }, () => 10), 1000)).step, 5);
  assert.equal(busiestSecond([0, 100, 200, 90_000, 90_001], KHZ90), 4);
  assert.equal(busiestSecond([], KHZ90), 0);
});

test('the FFmpeg expression is the same rule, escaped for -bsf', () => {
  const expr = settsExpression(1500);
  assert.ok(!expr.includes(':'), 'no option separator');
  assert.ok(!/[^\\],/.test(expr), 'every comma escaped');
  assert.match(expr, /^st\(1\\,STARTPTS\+round\(\(PTS-STARTPTS\)\/1500\)\*1500\);/);
  assert.match(expr, /if\(between\(N\\,4\\,15\)/);
  assert.match(expr, /if\(eq\(N\\,16\)/);
  assert.ok(expr.endsWith(';ld(2)'));
  assert.equal(h264TickRate({ unitsPerSecond: 90_000, step: 1500 }), '180000/1500');
});
