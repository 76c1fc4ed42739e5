import type { FileStats, ResolutionChange } from '@recstack/contracts';
import { run, type ProbeTools } from './file-probe.js';

/** One packet (= one frame for the codecs we record) of the file's first video (or audio) stream. */
export interface PacketEntry {
  timeSec: number;
  key: boolean;
}

/** A decoded keyframe's resolution. */
export interface KeyframeSize {
  timeSec: number;
  width: number;
  height: number;
}

/** Parses `ffprobe -of compact=p=0` lines (`key=value|key=value`); lines without a time are skipped. */
export function parseCompact(text: string): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const row: Record<string, string> = {};
    for (const field of line.trim().split('|')) {
      const eq = field.indexOf('=');
      if (eq > 0) row[field.slice(0, eq)] = field.slice(eq + 1);
    }
    rows.push(row);
  }
  return rows;
}

const seconds = (row: Record<string, string>, ...keys: string[]): number | undefined => {
  for (const key of keys) {
    const v = Number(row[key]);
    if (row[key] !== undefined && row[key] !== 'N/A' && Number.isFinite(v)) return v;
  }
  return undefined;
};

export function packetEntries(text: string): PacketEntry[] {
  const out: PacketEntry[] = [];
  for (const row of parseCompact(text)) {
    const timeSec = seconds(row, 'pts_time', 'dts_time');
    if (timeSec !== undefined) out.push({ timeSec, key: (row['flags'] ?? '').includes('K') });
  }
  return out;
}

export function keyframeSizes(text: string): KeyframeSize[] {
  const out: KeyframeSize[] = [];
  for (const row of parseCompact(text)) {
    const timeSec = seconds(row, 'pts_time', 'best_effort_timestamp_time', 'pkt_dts_time');
    const width = Number(row['width']);
    const height = Number(row['height']);
    if (timeSec !== undefined && width > 0 && height > 0) out.push({ timeSec, width, height });
  }
  return out;
}

/**
 * The resolution changes, timed from the first frame: the first entry is the starting resolution, then one
 * entry per keyframe whose resolution differs from the one before.
 */
export function resolutionChanges(sizes: readonly KeyframeSize[], startSec: number): ResolutionChange[] {
  const changes: ResolutionChange[] = [];
  for (const s of [...sizes].sort((a, b) => a.timeSec - b.timeSec)) {
    const last = changes[changes.length - 1];
    if (last && last.width === s.width && last.height === s.height) continue;
    changes.push({ atMs: Math.max(0, Math.round((s.timeSec - startSec) * 1000)), width: s.width, height: s.height });
  }
  return changes;
}

/**
 * The resolution most of the file has: each change lasts until the next one (the last until the end of the
 * video); the longest total wins, the earlier of equals.
 */
export function dominantResolution(changes: readonly ResolutionChange[], videoDurationMs: number): { width: number; height: number } | undefined {
  const totals = new Map<string, { width: number; height: number; ms: number; first: number }>();
  changes.forEach((c, i) => {
    const end = changes[i + 1]?.atMs ?? Math.max(videoDurationMs, c.atMs);
    const key = `${c.width}x${c.height}`;
    const entry = totals.get(key) ?? { width: c.width, height: c.height, ms: 0, first: i };
    entry.ms += Math.max(0, end - c.atMs);
    totals.set(key, entry);
  });
  let best: { width: number; height: number; ms: number; first: number } | undefined;
  for (const t of totals.values()) if (!best || t.ms > best.ms || (t.ms === best.ms && t.first < best.first)) best = t;
  return best && { width: best.width, height: best.height };
}

/** Frames, keyframes and the longest gap between consecutive frames, from the packets in time order. */
export function packetStats(packets: readonly PacketEntry[]): { framesWritten: number; keyframesReceived: number; longestGapMs: number; startSec: number; endSec: number } {
  const times = packets.map((p) => p.timeSec).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return {
    framesWritten: packets.length,
    keyframesReceived: packets.filter((p) => p.key).length,
    longestGapMs: Math.round(longest * 1000),
    startSec: times[0] ?? 0,
    endSec: times[times.length - 1] ?? 0,
  };
}

export interface FileStatsResult {
  stats: FileStats;
  /** the resolution most of the video has; undefined for audio only */
  dominant: { width: number; height: number } | undefined;
}

/** The output of a very long recording stays bounded: an hour at 30 fps is ~3 MB of packet lines. */
const MAX_PROBE_OUTPUT = 64 * 1024 * 1024;

/**
 * The file's stats, cheaply enough for the stop path: the packets are read without decoding (frames,
 * keyframes, gaps), and only keyframes are decoded for their resolution (`-skip_frame nokey`). H264 and VP8
 * can change resolution only at a keyframe (a new SPS needs an IDR; VP8 carries its size in keyframes only),
 * so for them this sees every change. VP9 and AV1 may scale references and change on an inter frame: such a
 * change shows at the next keyframe. Undefined when ffprobe cannot read the file.
 */
export async function probeFileStats(path: string, tools: ProbeTools, hasVideo: boolean, timeoutMs = 30_000): Promise<FileStatsResult | undefined> {
  const stream = hasVideo ? 'v:0' : 'a:0';
  const packets = await run(tools.ffprobe, ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time,dts_time,flags', '-of', 'compact=p=0', path], timeoutMs, { nice: 0 }, MAX_PROBE_OUTPUT);
  if (packets.code !== 0 || packets.timedOut) return undefined;
  const counted = packetStats(packetEntries(packets.stdout));
  if (!hasVideo) {
    return { stats: { framesWritten: counted.framesWritten, keyframesReceived: counted.keyframesReceived, longestGapMs: counted.longestGapMs, resolutionChanges: [] }, dominant: undefined };
  }
  const frames = await run(tools.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-skip_frame', 'nokey', '-show_entries', 'frame=pts_time,best_effort_timestamp_time,pkt_dts_time,width,height', '-of', 'compact=p=0', path], timeoutMs, { nice: 0 }, MAX_PROBE_OUTPUT);
  const sizes = frames.code === 0 && !frames.timedOut ? keyframeSizes(frames.stdout) : [];
  const changes = resolutionChanges(sizes, counted.startSec);
  const durationMs = Math.round((counted.endSec - counted.startSec) * 1000);
  return {
    stats: { framesWritten: counted.framesWritten, keyframesReceived: counted.keyframesReceived, longestGapMs: counted.longestGapMs, resolutionChanges: changes.slice(0, 1000) },
    dominant: dominantResolution(changes, durationMs),
  };
}
