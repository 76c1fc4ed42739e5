import { run } from '../finalize/file-probe.js';

/**
 * Where a segment's packets lie on its own timeline, as FFmpeg's demuxer (and so the concat demuxer that joins
 * it) reads the file, in microseconds.
 */
export interface SegmentSpan {
  /** the file's start time (its earliest stream's): the concat demuxer places the file's packets relative to it */
  startUs: number;
  /** the earliest timestamp (pts or dts) among the file's first packets: a stream may begin before `startUs` */
  firstUs: number;
  /** the latest end among the file's last packets: pts plus duration, a packet without a duration counting 1 ms */
  endUs: number;
}

const FIRST_PACKETS = 100;
/** the end is read from this far before the container's duration (a seek lands on a keyframe before it) */
const TAIL_MS = 10_000;
const READ_BUDGET_MS = 60_000;
/** Matroska's tick, the coarsest time base a join writes: a packet with no duration still takes one */
const UNKNOWN_DURATION_US = 1000;

/**
 * The span of a segment: its first packets and the last seconds of it, read without decoding. Undefined when
 * ffprobe cannot read it.
 */
export async function readSegmentSpan(path: string, durationMs: number, ffprobe: string): Promise<SegmentSpan | undefined> {
  const tailFrom = Math.max(0, durationMs - TAIL_MS) / 1000;
  const result = await run(
    ffprobe,
    [
      '-v',
      'error',
      '-read_intervals',
      `%+#${FIRST_PACKETS},${tailFrom.toFixed(3)}%`,
      '-show_entries',
      'format=start_time:packet=pts_time,dts_time,duration_time',
      '-of',
      'csv=p=1',
      path,
    ],
    READ_BUDGET_MS,
    { nice: 0 },
    64 * 1024 * 1024,
  );
  if (result.code !== 0) return undefined;
  return parseSegmentSpan(result.stdout);
}

/** ffprobe's `packet,<pts>,<dts>,<duration>` and `format,<start_time>` lines (seconds) → the span. Pure. */
export function parseSegmentSpan(csv: string): SegmentSpan | undefined {
  let startUs: number | undefined;
  let firstUs = Infinity;
  let endUs = -Infinity;
  for (const line of csv.split('\n')) {
    const [kind, ...fields] = line.trim().split(',');
    if (kind === 'format') startUs = microseconds(fields[0]);
    if (kind !== 'packet') continue;
    const pts = microseconds(fields[0]);
    const dts = microseconds(fields[1]);
    const duration = microseconds(fields[2]);
    for (const ts of [pts, dts]) if (ts !== undefined) firstUs = Math.min(firstUs, ts);
    const at = pts ?? dts;
    if (at !== undefined) endUs = Math.max(endUs, at + Math.max(duration ?? 0, UNKNOWN_DURATION_US));
    if (dts !== undefined) endUs = Math.max(endUs, dts + UNKNOWN_DURATION_US);
  }
  if (!Number.isFinite(firstUs) || !Number.isFinite(endUs)) return undefined;
  return { startUs: startUs ?? firstUs, firstUs, endUs };
}

/**
 * How long a segment lasts in the joined file (µs) when `next` follows it: the concat demuxer starts the next
 * one that far after this one's start, so the next one's earliest packet comes after this one's last packet
 * ended, in every stream. Left to itself it takes the container's duration, which can end before the last
 * packet does (FFmpeg's Matroska muxer leaves out the duration of an Opus packet from RTP: when the audio
 * outlasts the video, two audio packets share a timestamp at the boundary). Every stream of a segment moves by
 * the same amount, so A/V sync is kept. `next` undefined (unread): this segment's own span.
 */
export function joinedDuration(current: SegmentSpan, next: SegmentSpan | undefined): number {
  const earlyStart = next ? Math.max(0, next.startUs - next.firstUs) : 0;
  return current.endUs - current.startUs + earlyStart;
}

function microseconds(field: string | undefined): number | undefined {
  if (field === undefined || field === '' || field === 'N/A') return undefined;
  const seconds = Number(field);
  return Number.isFinite(seconds) ? Math.round(seconds * 1_000_000) : undefined;
}
