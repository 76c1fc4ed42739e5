/**
 * Video timestamps that FFmpeg can never round onto one another.
 *
 * The acceptance check `ffmpeg -v error -i FILE -f null -` passes each decoded video frame's time through
 * the encoder time base 1/F, where F is FFmpeg's guess of the stream's frame rate, and rounds it:
 * tick = llrint((t - start) * F). Two consecutive frames that land on one tick make the null muxer print
 * "non monotonically increasing dts". Recorded WebRTC video is variable-rate (capture jitter, bursts after a
 * late keyframe, 15 → 30 fps changes), so with F near the nominal rate some pairs collide sooner or later.
 *
 * The cure here does not chase FFmpeg's guess; it decides it. Every video frame is put on a lattice
 * `first + k * step` (k strictly increasing) with a step of a fraction of a frame period (1/60, 1/120 or
 * 1/200 s for MP4; 10 or 5 ms for Matroska), and the file is written so that FFmpeg's own rules give
 * F = 1 / step exactly. Then tick = k + constant: distinct lattice points are distinct ticks, whatever the
 * jitter, drift or start offset. FFmpeg 5.1's rules, and how each is met:
 *
 * 1. avformat_find_stream_info reads the first 20 video packets (40 with Matroska's millisecond time base)
 *    unless the demuxer already set a rate. For H264 (always) and for any stream whose time base is finer
 *    than 1/100 s, ff_rfps_calculate then sets r_frame_rate = 1 / gcd(durations), where the durations are
 *    dts differences from the 4th on, provided more than 15 were seen and the gcd exceeds 2 ms. All our
 *    frames are on the lattice, so the gcd is a multiple of the step; it is exactly the step when the
 *    durations #4…#16 (in steps) have no common factor. Regular content (30 fps on a 60/s lattice: every
 *    duration 2) would give gcd 2 steps = 30 fps, so frame 16 is moved to the nearest position whose
 *    duration is coprime with the others (a single frame, usually by one step).
 * 2. av_guess_frame_rate keeps r_frame_rate unless it is above 210 (ours are at most 200), or, for
 *    H264, the SPS carries VUI timing whose rate is below 0.7 F (x264 writes 30 fps): the recorder then
 *    rewrites the VUI tick rate to 2F (`h264TickRate`) so the codec's rate is F too.
 * 3. A Matroska DefaultDuration makes the demuxer set r_frame_rate itself (FFmpeg's muxer writes one from
 *    the average rate, about 20 fps): it is blanked (timestamp-matroska.ts). MP4 sets it only for a
 *    constant sample duration, which gives a lattice too.
 * After writing, the recorder asks FFmpeg which rate it uses (timestamp-probe.ts) instead of trusting
 * this reasoning alone.
 *
 * The same rule runs twice: as a setts bitstream-filter expression inside the rewrite, on the exact
 * values FFmpeg has, and here in TypeScript to choose the step and to report how far frames moved.
 */

export type LatticeContainer = 'mp4' | 'matroska';

/** A lattice: `unitsPerSecond` is the output time base (the MP4 video track is written at 90 kHz). */
export interface Lattice {
  unitsPerSecond: number;
  /** in output units */
  step: number;
}

/** Output time units per second: MP4 video tracks are written at 90 kHz; Matroska counts milliseconds. */
export const UNITS_PER_SECOND: Record<LatticeContainer, number> = { mp4: 90_000, matroska: 1000 };

/**
 * Steps to choose from, coarsest first. 60/s holds 15, 20, 30 and 60 fps without moving a frame; Matroska
 * needs a whole number of milliseconds, so 10 ms. All stay below FFmpeg's 210/s limit and above its 2 ms
 * minimum.
 */
const STEPS: Record<LatticeContainer, readonly number[]> = { mp4: [1500, 750, 450], matroska: [10, 5] };

/**
 * A lattice must leave room to catch up: the busiest second of the recording may use at most this share of
 * the lattice's positions, or bursts would push frames later and later.
 */
const MAX_LATTICE_LOAD = 0.8;

/**
 * ff_rfps_add_frame ignores the first 3 durations; ff_rfps_calculate needs more than 15. So durations #4…#15
 * are folded into a gcd and the 16th (frame index 16) is the one that makes it 1.
 */
const GCD_FIRST_FRAME = 4;
const GCD_DECIDING_FRAME = 16;
/** how far (in steps) frame 16 may move to find a duration coprime with the others, each way */
const COPRIME_SEARCH = 3;

/** The frame rate FFmpeg will use for a file on this lattice. */
export function latticeRate(lattice: Lattice): number {
  return lattice.unitsPerSecond / lattice.step;
}

/** The lattice most recordings get: 1/60 s for MP4, 10 ms for Matroska. */
export function coarsestLattice(container: LatticeContainer): Lattice {
  return { unitsPerSecond: UNITS_PER_SECOND[container], step: STEPS[container][0] as number };
}

/**
 * The coarsest lattice with room for the busiest second of the recording. `times` are the video packets'
 * timestamps in output units, in decode order.
 */
export function chooseLattice(container: LatticeContainer, times: readonly number[]): Lattice {
  const unitsPerSecond = UNITS_PER_SECOND[container];
  const busiest = busiestSecond(times, unitsPerSecond);
  const steps = STEPS[container];
  const step = steps.find((s) => busiest <= (unitsPerSecond / s) * MAX_LATTICE_LOAD) ?? (steps.at(-1) as number);
  return { unitsPerSecond, step };
}

/** The largest number of frames within any one second. */
export function busiestSecond(times: readonly number[], unitsPerSecond: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[last] as number) - (times[first] as number) >= unitsPerSecond) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

export interface RetimeResult {
  /** the new timestamps, in output units */
  times: number[];
  /** the largest distance between a frame's new and old time, in output units */
  maxShift: number;
  /** frames not on their nearest lattice point (pushed by a predecessor, or frame 16's move) */
  pushed: number;
}

/**
 * What the rewrite does to the timestamps (the same rule as `settsExpression`, which is what actually
 * runs): snap to the nearest lattice point, at least one step after the previous frame, and move frame 16
 * so FFmpeg's gcd is one step.
 */
export function retime(times: readonly number[], step: number): RetimeResult {
  const out: number[] = [];
  const start = times[0] ?? 0;
  let prev = Number.NEGATIVE_INFINITY;
  let common = 0;
  let maxShift = 0;
  let pushed = 0;
  times.forEach((t, n) => {
    const snapped = start + cRound((t - start) / step) * step;
    let next = Math.max(snapped, prev + step);
    let steps = (next - prev) / step;
    if (n >= GCD_FIRST_FRAME && n < GCD_DECIDING_FRAME) common = gcd(common, steps);
    if (n === GCD_DECIDING_FRAME && gcd(common, steps) > 1) {
      steps = coprimeNear(common, steps, t >= next ? 1 : -1);
      next = prev + steps * step;
    }
    if (next !== snapped) pushed++;
    maxShift = Math.max(maxShift, Math.abs(next - t));
    out.push(next);
    prev = next;
  });
  return { times: out, maxShift, pushed };
}

/** The candidate order `settsExpression` tries too: ±1, ±2, ±3 steps (the frame's own side first), then 1. */
function coprimeNear(common: number, steps: number, dir: 1 | -1): number {
  for (let k = 1; k <= COPRIME_SEARCH; k++) {
    for (const candidate of [steps + k * dir, steps - k * dir]) {
      if (candidate >= 1 && gcd(common, candidate) === 1) return candidate;
    }
  }
  return 1;
}

/**
 * The setts bitstream-filter expression of `retime`, in the filter's time units (the muxer's: 90 kHz for
 * MP4 with `-video_track_timescale 90000`, milliseconds for Matroska). Variables: 0 running gcd,
 * 1 snapped, 2 result, 3 duration in steps, 4 the side frame 16 prefers. At N = 0 PREV_OUTPTS is
 * AV_NOPTS_VALUE (−2^63), so the max() picks the snapped time. Commas are escaped for `-bsf`.
 */
export function settsExpression(step: number): string {
  const ok = (c: string) => `gte(${c},1)*eq(gcd(ld(0),${c}),1)`;
  const candidates: string[] = [];
  for (let k = 1; k <= COPRIME_SEARCH; k++) candidates.push(`ld(3)+${k}*ld(4)`, `ld(3)-${k}*ld(4)`);
  const pick = candidates.reduceRight((otherwise, c) => `if(${ok(c)},${c},${otherwise})`, '1');
  const statements = [
    `st(1,STARTPTS+round((PTS-STARTPTS)/${step})*${step})`,
    `st(2,max(ld(1),PREV_OUTPTS+${step}))`,
    `st(3,(ld(2)-PREV_OUTPTS)/${step})`,
    `if(between(N,${GCD_FIRST_FRAME},${GCD_DECIDING_FRAME - 1}),st(0,gcd(ld(0),ld(3))))`,
    `st(4,if(gte(PTS,ld(2)),1,-1))`,
    `if(eq(N,${GCD_DECIDING_FRAME})*gt(gcd(ld(0),ld(3)),1),st(2,PREV_OUTPTS+${step}*(${pick})))`,
    'ld(2)',
  ];
  return statements.join(';').replaceAll(',', '\\,');
}

/**
 * The H264 VUI tick rate that makes the codec's frame rate (tick rate / 2) equal the lattice rate, for
 * streams whose SPS announces a lower rate (see rule 2 above).
 */
export function h264TickRate(lattice: Lattice): string {
  return `${2 * lattice.unitsPerSecond}/${lattice.step}`;
}

/** C's round(): halves away from zero (Math.round takes −2.5 to −2). */
function cRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y) [x, y] = [y, x % y];
  return x;
}
