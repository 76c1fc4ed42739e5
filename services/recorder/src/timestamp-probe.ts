import { run } from './file-probe.js';

/** The video packets of a file as FFmpeg reads them for a stream copy. */
export interface VideoPackets {
  /** the stream's time base as FFmpeg prints it, e.g. [1, 10000] */
  timeBase: [number, number];
  /** presentation timestamps in decode order, in that time base */
  pts: number[];
  /** a packet whose decode and presentation times differ (B-frames): the stream is left alone */
  reordered: boolean;
  /** a packet without a timestamp: the stream is left alone */
  untimed: boolean;
}

/**
 * Parses FFmpeg's `framecrc` listing of one stream: `#tb 0: 1/10000`, then one line per packet,
 * `0, dts, pts, duration, size, crc[, F=flags]`.
 */
export function parseFramecrc(text: string): VideoPackets | undefined {
  let timeBase: [number, number] | undefined;
  const pts: number[] = [];
  let reordered = false;
  let untimed = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#tb 0:')) {
      const m = /(\d+)\s*\/\s*(\d+)/.exec(line.slice(6));
      if (m) timeBase = [Number(m[1]), Number(m[2])];
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split(',').map((f) => f.trim());
    if (fields[0] !== '0' || fields.length < 5) continue;
    const dts = Number(fields[1]);
    const p = Number(fields[2]);
    if (!Number.isSafeInteger(dts) || !Number.isSafeInteger(p)) {
      untimed = true;
      continue;
    }
    if (dts !== p) reordered = true;
    pts.push(p);
  }
  if (!timeBase || timeBase[0] <= 0 || timeBase[1] <= 0) return undefined;
  return { timeBase, pts, reordered, untimed };
}

/**
 * A timestamp in another time base, rounded like FFmpeg's av_rescale_q (to nearest, halves away from
 * zero), which is what the rewrite applies before the timestamp filter sees the packet.
 */
export function rescale(ts: number, from: [number, number], unitsPerSecond: number): number {
  const num = BigInt(ts) * BigInt(from[0]) * BigInt(unitsPerSecond);
  const den = BigInt(from[1]);
  const half = den / 2n;
  return Number(num >= 0n ? (num + half) / den : -((-num + half) / den));
}

/** Lists the first video stream's packets with `ffmpeg -f framecrc` (a stream copy: nothing is decoded). */
export async function readVideoPackets(path: string, ffmpeg: string, budgetMs: number): Promise<VideoPackets | undefined> {
  const result = await run(ffmpeg, ['-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'], budgetMs, 10, 64 * 1024 * 1024);
  if (result.code !== 0 || result.timedOut) return undefined;
  return parseFramecrc(result.stdout);
}

/**
 * The frame rate FFmpeg's null output encodes video with, from its own report of the output stream
 * (`…, 60 fps, 60 tbn`: tbn is the encoder's time base). "62.50", "1k" and "90k" are FFmpeg's spellings.
 */
export function parseEncoderRate(stderr: string): number | undefined {
  for (const line of stderr.split('\n')) {
    if (!/Stream #0:\d+.*: Video: wrapped_avframe/.test(line)) continue;
    const m = /([\d.]+)(k?) tbn/.exec(line);
    if (m) return Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
  }
  return undefined;
}

/**
 * Asks FFmpeg which rate the acceptance check (`ffmpeg -i FILE -f null -`) will round video timestamps to:
 * the same command, stopped after one frame. FFmpeg's own stream analysis, not a re-implementation of it.
 */
export async function encoderRate(path: string, ffmpeg: string, budgetMs: number): Promise<number | undefined> {
  // normal priority: it is one frame's work, and at low priority a busy machine makes it wait a second
  const result = await run(ffmpeg, ['-nostdin', '-hide_banner', '-i', path, '-map', '0:v:0', '-frames:v', '1', '-f', 'null', '-'], budgetMs);
  if (result.timedOut) return undefined;
  return parseEncoderRate(result.stderr);
}
