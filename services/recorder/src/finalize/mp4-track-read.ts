import { open } from 'node:fs/promises';
import type { FileStats } from '@recstack/contracts';
import { children, find, handlerOf, moovBox, timescaleOf, type Box } from './mp4-boxes.js';
import { dominantResolution, resolutionChanges, type KeyframeSize, type TrackReadResult } from './file-stats.js';
import { parseAvcC } from './h264-sps.js';
import { h264Parser, parseSamples, vp8Parser, vp9Parser, type SampleParser } from './keyframe-headers.js';
import { editsOf, readSampleTables, type SampleTables } from './mp4-samples.js';
import { demuxedTimeline, type Timeline } from './mp4-timeline.js';

/**
 * The read of an MP4's first video (or, without video, audio) track that a stop makes, in this process:
 * what `probeTrackStats` gets from ffprobe (file-stats.ts), from the sample tables and the keyframes' own
 * bytes, so a stop starts no child process. Packets and their times as FFmpeg's demuxer gives them
 * (mp4-timeline.ts: the edit list applied), their count, keyframes (stss) and the longest gap; the size of
 * each keyframe from its header (H264 SPS, VP8/VP9 frame header) for the resolution changes; whether the
 * first frame is a keyframe from its bytes (an IDR with its parameter sets, a VP8/VP9 keyframe).
 *
 * Undefined for what it cannot read as FFmpeg would, and then the caller asks ffprobe: a codec whose frame
 * size it does not parse (AV1), a keyframe whose bytes do not parse, edit lists beyond one media edit,
 * sample tables that point outside the file.
 */
export async function readMp4Track(path: string, fileSize: number, moov: Buffer, kind: 'video' | 'audio'): Promise<TrackReadResult | undefined> {
  const root = moovBox(moov);
  const mvhd = find(moov, root, 'mvhd')[0];
  const trak = find(moov, root, 'trak').find((t) => handlerOf(moov, t) === (kind === 'video' ? 'vide' : 'soun'));
  if (!mvhd || !trak) return undefined;
  const parser = kind === 'video' ? sampleParser(moov, trak) : undefined;
  if (kind === 'video' && !parser) return undefined;
  const tables = readSampleTables(moov, trak);
  const edits = editsOf(moov, trak);
  if (!tables || !edits || !withinFile(tables, fileSize)) return undefined;
  const timeline = demuxedTimeline(tables, edits, timescaleOf(moov, mvhd), kind);
  if (!timeline || timeline.count === 0) return undefined;
  const counted = timelineStats(timeline, tables.timescale);
  if (!parser) {
    return { stats: { ...counted.stats, resolutionChanges: [] }, dominant: undefined, firstFrameIsKeyframe: undefined };
  }
  const keyframes = await readKeyframes(path, tables, timeline, parser);
  if (!keyframes) return undefined;
  const changes = resolutionChanges(keyframes.sizes, counted.startSec);
  return {
    stats: { ...counted.stats, resolutionChanges: changes.slice(0, 1000) },
    dominant: dominantResolution(changes, Math.round((counted.endSec - counted.startSec) * 1000)),
    firstFrameIsKeyframe: keyframes.firstIsKeyframe,
  };
}

/**
 * The parser for the track's sample descriptions; undefined for a codec whose frames it does not read. Several
 * descriptions (mp4mux adds one at a resolution change) are followed where the frames carry what the parser
 * reads: VP8/VP9 headers, avc3 (parameter sets in-band) with one NAL length size; the first one's avcC
 * stands for the parameter sets in front of the first in-band ones.
 */
function sampleParser(moov: Buffer, trak: Box): SampleParser | undefined {
  const stsd = find(moov, trak, 'stsd')[0];
  const entries = stsd ? children(moov, stsd.offset + 16, stsd.offset + stsd.size) : [];
  const [entry] = entries;
  if (!entry || entries.some((e) => e.type !== entry.type)) return undefined;
  switch (entry.type) {
    case 'avc1':
    case 'avc3': {
      const records = entries.map((e) => avcRecord(moov, e));
      const [record] = records;
      if (!record || records.some((r) => r?.lengthSize !== record.lengthSize) || (records.length > 1 && entry.type !== 'avc3')) return undefined;
      return h264Parser(record.lengthSize, record.sps[0], record.pps.length > 0);
    }
    case 'vp08':
      return vp8Parser;
    case 'vp09':
      return vp9Parser;
    default:
      return undefined;
  }
}

function avcRecord(moov: Buffer, entry: Box): ReturnType<typeof parseAvcC> {
  // VisualSampleEntry: 8 header + 78 bytes of fields, then its boxes
  const avcC = children(moov, entry.offset + 86, entry.offset + entry.size).find((b) => b.type === 'avcC');
  return avcC && parseAvcC(moov.subarray(avcC.offset + avcC.headerSize, avcC.offset + avcC.size));
}

function withinFile(tables: SampleTables, fileSize: number): boolean {
  for (let i = 0; i < tables.count; i++) if ((tables.offsets[i] ?? 0) + (tables.sizes[i] ?? 0) > fileSize) return false;
  return true;
}

/**
 * Frames, keyframes and the longest gap between consecutive frames in presentation order, with the first and
 * last time in seconds; each time rounded to the microsecond, as ffprobe prints pts_time.
 */
export function timelineStats(timeline: Timeline, timescale: number): { stats: Omit<FileStats, 'resolutionChanges'>; startSec: number; endSec: number } {
  const times = new Float64Array(timeline.count);
  let keyframes = 0;
  for (let i = 0; i < timeline.count; i++) {
    times[i] = seconds(timeline.pts[i] ?? 0, timescale);
    keyframes += timeline.key[i] ?? 0;
  }
  times.sort();
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return {
    stats: { framesWritten: timeline.count, keyframesReceived: keyframes, longestGapMs: Math.round(longest * 1000) },
    startSec: times[0] ?? 0,
    endSec: times[times.length - 1] ?? 0,
  };
}

const seconds = (ticks: number, timescale: number) => Math.round((ticks / timescale) * 1e6) / 1e6;

/**
 * The keyframes' sizes (the frames a decoder outputs: discarded packets outside the edit left out) and
 * whether the first packet is a real keyframe. Undefined when a keyframe's bytes do not parse.
 */
async function readKeyframes(
  path: string,
  tables: SampleTables,
  timeline: Timeline,
  parser: SampleParser,
): Promise<{ sizes: KeyframeSize[]; firstIsKeyframe: boolean } | undefined> {
  const picked: number[] = [];
  for (let i = 0; i < timeline.count; i++) if (timeline.key[i] === 1) picked.push(i);
  const file = await open(path, 'r');
  let headers;
  try {
    const samples = picked.map((i) => {
      const sample = timeline.sample[i] ?? 0;
      return { offset: tables.offsets[sample] ?? 0, size: tables.sizes[sample] ?? 0 };
    });
    headers = await parseSamples(file, parser, samples);
  } finally {
    await file.close();
  }
  const sizes: KeyframeSize[] = [];
  let firstIsKeyframe = false;
  for (let k = 0; k < picked.length; k++) {
    const header = headers[k];
    const i = picked[k] ?? 0;
    if (!header) return undefined;
    if (i === 0) firstIsKeyframe = header.keyframe;
    // a first sample marked sync that is not a keyframe is what the check is for; any later one is left to ffprobe
    if (!header.keyframe && i === 0) continue;
    if (!header.keyframe || !header.size) return undefined;
    if (timeline.discard[i] !== 1) sizes.push({ timeSec: seconds(timeline.pts[i] ?? 0, tables.timescale), ...header.size });
  }
  // a first packet not marked a keyframe is not read: no decoder starts with it
  return { sizes, firstIsKeyframe };
}
