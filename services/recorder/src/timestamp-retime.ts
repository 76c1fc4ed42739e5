import { rm } from 'node:fs/promises';
import type { Container } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { audioLeadArgs } from './audio-lead.js';
import { run } from './file-probe.js';
import { blankVideoDefaultDurationInFile } from './timestamp-matroska.js';
import { UNITS_PER_SECOND, chooseLattice, coarsestLattice, h264TickRate, latticeRate, retime, settsExpression, type Lattice, type LatticeContainer } from './timestamp-lattice.js';
import { encoderRate, readVideoPackets, rescale, type VideoPackets } from './timestamp-probe.js';

export interface RetimeRequest {
  input: string;
  /** written from scratch; removed again if the rewrite fails */
  output: string;
  container: Container;
  videoCodec: string;
  /** audio moved this many 48 kHz samples earlier in the same copy (undeclared encoder priming) */
  audioLeadSamples: number;
  ffmpeg: string;
  /** for the whole job: listing, rewrite(s) and checks */
  budgetMs: number;
  logger: Logger;
}

export type RetimeOutcome =
  | {
      ok: true;
      /** the lattice rate, which FFmpeg confirmed it uses (`confirmed`) or not */
      rate: number;
      confirmed: boolean;
      frames: number;
      maxShiftMs: number;
      pushed: number;
      /** the SPS's VUI tick rate was rewritten to match the lattice */
      tickRateSet: boolean;
    }
  | { ok: false; reason: string };

const FORMAT: Record<Container, string> = { mp4: 'mp4', webm: 'webm', mkv: 'matroska' };

/**
 * Copies a recording (no transcoding) with its video timestamps put on a lattice FFmpeg rounds to without
 * collisions (timestamp-lattice.ts), then asks FFmpeg which rate it now uses. H264 whose SPS announces a
 * slower rate (x264's VUI timing) is copied again with the tick rate rewritten to the lattice's. Audio with
 * undeclared encoder priming is moved earlier by it (audio-lead.ts), other audio is copied untouched;
 * keyframe flags, in-band parameter sets and MP4's index at the front (`+faststart`) are kept. Never
 * throws: a failure leaves no output and says why, and the caller copies without retiming.
 */
export async function retimeVideo(req: RetimeRequest): Promise<RetimeOutcome> {
  const deadline = Date.now() + req.budgetMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const kind: LatticeContainer = req.container === 'mp4' ? 'mp4' : 'matroska';
  // the packet list only tells whether the usual lattice has room (it nearly always has), so the copy
  // with it runs meanwhile instead of after
  const usual = coarsestLattice(kind);
  const listing = readVideoPackets(req.input, req.ffmpeg, left());
  const speculative = copy(req, usual, false, left());
  const packets = await listing;
  const problem = unretimable(packets);
  if (!packets || problem) {
    await speculative;
    return failed(req, problem ?? 'the video packets could not be listed');
  }
  const times = packets.pts.map((t) => rescale(t, packets.timeBase, UNITS_PER_SECOND[kind]));
  const lattice = chooseLattice(kind, times);
  const plan = retime(times, lattice.step);

  let copied = await speculative;
  if (lattice.step !== usual.step) copied = await copy(req, lattice, false, left());
  if (!copied) return failed(req, 'the copy failed');
  let rate = await encoderRate(req.output, req.ffmpeg, left());
  let tickRateSet = false;
  // FFmpeg answered with another rate: for H264 that is the SPS's VUI timing (see timestamp-lattice.ts)
  if (rate !== undefined && rate !== latticeRate(lattice) && req.videoCodec === 'h264') {
    tickRateSet = true;
    if (!(await copy(req, lattice, true, left()))) return failed(req, 'the copy with the H264 tick rate failed');
    rate = await encoderRate(req.output, req.ffmpeg, left());
  }
  return {
    ok: true,
    rate: latticeRate(lattice),
    confirmed: rate === latticeRate(lattice),
    frames: plan.times.length,
    maxShiftMs: Math.round((plan.maxShift / lattice.unitsPerSecond) * 1000 * 10) / 10,
    pushed: plan.pushed,
    tickRateSet,
  };
}

function unretimable(packets: VideoPackets | undefined): string | undefined {
  if (!packets || packets.pts.length === 0) return 'the video packets could not be listed';
  if (packets.untimed) return 'a video packet has no timestamp';
  if (packets.reordered) return 'the video has reordered frames (B-frames)';
  return undefined;
}

/** The ffmpeg arguments of the retiming copy. Pure. */
export function retimeArgs(input: string, output: string, container: Container, lattice: Lattice, setTickRate: boolean, audioLeadSamples = 0): string[] {
  const filters = [`setts=ts=${settsExpression(lattice.step)}`];
  if (setTickRate) filters.unshift(`h264_metadata=tick_rate=${h264TickRate(lattice)}`);
  const args = ['-nostdin', '-v', 'error', '-i', input, '-map', '0', '-c', 'copy', '-bsf:v', filters.join(','), ...audioLeadArgs(audioLeadSamples, container)];
  // the timestamp filter works in the muxer's units: 90 kHz makes every lattice step a whole number
  if (container === 'mp4') args.push('-video_track_timescale', String(lattice.unitsPerSecond), '-movflags', '+faststart');
  args.push('-f', FORMAT[container], '-y', output);
  return args;
}

/** One retiming copy; Matroska gets its video DefaultDuration blanked after it. */
async function copy(req: RetimeRequest, lattice: Lattice, setTickRate: boolean, budgetMs: number): Promise<boolean> {
  if (setTickRate && req.container !== 'mp4') return copyToMatroskaWithTickRate(req, lattice, budgetMs);
  return copyOnce(req, req.input, retimeArgs(req.input, req.output, req.container, lattice, setTickRate, req.audioLeadSamples), budgetMs);
}

/**
 * FFmpeg 5.1's Matroska muxer refuses the parameters h264_metadata hands on when the parameter sets are
 * in-band (mp4mux's avc3: an avcC without SPS/PPS; "Invalid data found when processing input"), so the
 * tick rate is rewritten in an MP4 copy first and that copy is then retimed into Matroska.
 */
async function copyToMatroskaWithTickRate(req: RetimeRequest, lattice: Lattice, budgetMs: number): Promise<boolean> {
  const deadline = Date.now() + budgetMs;
  const staged = `${req.output}.tick-rate.mp4`;
  try {
    const tickArgs = ['-nostdin', '-v', 'error', '-i', req.input, '-map', '0', '-c', 'copy', '-bsf:v', `h264_metadata=tick_rate=${h264TickRate(lattice)}`, '-f', 'mp4', '-y', staged];
    if (!(await copyOnce(req, req.input, tickArgs, budgetMs, false))) return false;
    const args = retimeArgs(staged, req.output, req.container, lattice, false, req.audioLeadSamples);
    return await copyOnce(req, staged, args, Math.max(1000, deadline - Date.now()));
  } finally {
    await rm(staged, { force: true });
  }
}

async function copyOnce(req: RetimeRequest, input: string, args: string[], budgetMs: number, toOutput = true): Promise<boolean> {
  const result = await run(req.ffmpeg, args, budgetMs, 10);
  if (result.code !== 0 || result.timedOut) {
    req.logger.warn({ timedOut: result.timedOut, error: firstLine(result.stderr), input }, 'retiming copy failed');
    return false;
  }
  if (toOutput && req.container !== 'mp4') await blankVideoDefaultDurationInFile(req.output);
  return true;
}

async function failed(req: RetimeRequest, reason: string): Promise<RetimeOutcome> {
  await rm(req.output, { force: true });
  return { ok: false, reason };
}

function firstLine(text: string): string | undefined {
  return text.split('\n').map((l) => l.trim()).find(Boolean);
}
