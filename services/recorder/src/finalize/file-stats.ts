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
export function packetStats(packets: readonly PacketEntry[]): {
  framesWritten: number;
  keyframesReceived: number;
  longestGapMs: number;
  startSec: number;
  endSec: number;
} {
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

/** What one read of the first video (or audio) stream tells: its stats, and whether its first frame is a keyframe. */
export interface TrackReadResult extends FileStatsResult {
  /**
   * the first packet is marked a keyframe and is one: ffprobe decoded it as one, or (in process) its bytes
   * are one (an IDR with its parameter sets, a VP8/VP9 keyframe); undefined for audio
   */
  firstFrameIsKeyframe: boolean | undefined;
}

/**
 * The file's stats by ffprobe, for what the stop's in-process read does not follow (mp4-track-read.ts: AV1,
 * WebM/Matroska, unusual MP4s), in ONE ffprobe run (a stop pays ~50 ms of CPU per ffprobe started, and twenty
 * stops at once on two cores queue behind each other): the packets are read without decoding (frames,
 * keyframes, gaps), and only keyframes are decoded (`-skip_frame nokey`), for their resolution and for the
 * first-frame check. H264 and VP8 can change resolution only at a keyframe (a new SPS needs an IDR; VP8
 * carries its size in keyframes only), so for them this sees every change. VP9 and AV1 may scale references
 * and change on an inter frame: such a change shows at the next keyframe. Undefined when ffprobe cannot read
 * the file.
 */
export async function probeTrackStats(path: string, tools: ProbeTools, kind: 'video' | 'audio', timeoutMs = 30_000): Promise<TrackReadResult | undefined> {
  const entries =
    kind === 'video'
      ? 'packet=pts_time,dts_time,flags:frame=key_frame,pts_time,best_effort_timestamp_time,pkt_dts_time,width,height'
      : 'packet=pts_time,dts_time,flags';
  const skip = kind === 'video' ? ['-skip_frame', 'nokey'] : [];
  const read = await run(
    tools.ffprobe,
    ['-v', 'error', '-select_streams', kind === 'video' ? 'v:0' : 'a:0', ...skip, '-show_entries', entries, '-of', 'compact', path],
    timeoutMs,
    { nice: 0 },
    MAX_PROBE_OUTPUT,
  );
  if (read.code !== 0 || read.timedOut) return undefined;
  const { packets: packetText, frames: frameText } = splitSections(read.stdout);
  const packets = packetEntries(packetText);
  const counted = packetStats(packets);
  if (kind === 'audio') {
    return {
      stats: { framesWritten: counted.framesWritten, keyframesReceived: counted.keyframesReceived, longestGapMs: counted.longestGapMs, resolutionChanges: [] },
      dominant: undefined,
      firstFrameIsKeyframe: undefined,
    };
  }
  const changes = resolutionChanges(keyframeSizes(frameText), counted.startSec);
  const durationMs = Math.round((counted.endSec - counted.startSec) * 1000);
  return {
    stats: {
      framesWritten: counted.framesWritten,
      keyframesReceived: counted.keyframesReceived,
      longestGapMs: counted.longestGapMs,
      resolutionChanges: changes.slice(0, 1000),
    },
    dominant: dominantResolution(changes, durationMs),
    firstFrameIsKeyframe: firstFrameDecodedAsKey(packetText, frameText),
  };
}

/** `ffprobe -of compact` prints each entry with its section's name first: `packet|…`, `frame|…`. */
export function splitSections(text: string): { packets: string; frames: string } {
  const packets: string[] = [];
  const frames: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('packet|')) packets.push(line.slice('packet|'.length));
    else if (line.startsWith('frame|')) frames.push(line.slice('frame|'.length));
  }
  return { packets: packets.join('\n'), frames: frames.join('\n') };
}

/**
 * Whether the stream's first frame is a keyframe, from a read that decodes keyframes only: the first packet
 * (in decode order) is marked a keyframe, and the first frame the decoder made is a keyframe from that same
 * packet. A first packet that is not a keyframe is skipped by the decoder, so the first frame made then
 * comes from a later packet and the check says false.
 */
export function firstFrameDecodedAsKey(packetText: string, frameText: string): boolean {
  const firstPacket = parseCompact(packetText)[0];
  const firstFrame = parseCompact(frameText)[0];
  if (!firstPacket || !firstFrame || !(firstPacket['flags'] ?? '').includes('K') || firstFrame['key_frame'] !== '1') return false;
  const packetDts = seconds(firstPacket, 'dts_time', 'pts_time');
  const frameDts = seconds(firstFrame, 'pkt_dts_time', 'pts_time', 'best_effort_timestamp_time');
  return packetDts !== undefined && frameDts !== undefined && Math.abs(packetDts - frameDts) < 1e-6;
}
