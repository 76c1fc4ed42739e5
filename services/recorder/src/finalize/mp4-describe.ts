import { open } from 'node:fs/promises';
import type { RecordedTrack } from '@recstack/contracts';
import { children, durationOf, editListDuration, find, handlerOf, moovBox, readBox, scanTopLevel, timescaleOf, type Box } from './mp4-boxes.js';

/** What the container says about an MP4: the part of the file's facts ffprobe's `-show_format -show_streams` gave. */
export interface Mp4Description {
  durationMs: number;
  formatName: string;
  tracks: RecordedTrack[];
  encoder: string | undefined;
}

/** The name FFmpeg's demuxer gives MP4 files (what ffprobe reports as format_name). */
const MP4_FORMAT_NAME = 'mov,mp4,m4a,3gp,3g2,mj2';

/** Sample entry types → the codec names ffprobe reports; anything else is left to ffprobe. */
const CODECS: Record<string, { kind: 'video' | 'audio'; codec: string }> = {
  avc1: { kind: 'video', codec: 'h264' },
  avc3: { kind: 'video', codec: 'h264' },
  vp08: { kind: 'video', codec: 'vp8' },
  vp09: { kind: 'video', codec: 'vp9' },
  av01: { kind: 'video', codec: 'av1' },
  Opus: { kind: 'audio', codec: 'opus' },
  mp4a: { kind: 'audio', codec: 'aac' },
};

/** A moov beyond this is not one the recorder wrote. */
const MAX_MOOV_BYTES = 256 * 1024 * 1024;

/**
 * The container's description of an MP4 the recorder wrote, read in this process: its streams (codec,
 * resolution, sample rate, channels), its duration as players count it (each track's edit list) and its
 * writing application. A stop's probe needs it at once, and an ffprobe process costs ~50 ms of CPU just to
 * start. Undefined for anything it does not know (not MP4, sample descriptions of different codecs, an unknown
 * codec, AAC of another object type): ffprobe describes those.
 */
export async function describeMp4(path: string, fileSize: number): Promise<Mp4Description | undefined> {
  const moov = await readMoov(path, fileSize);
  return moov && describeMoov(moov);
}

/** The moov box of a plain MP4 (ftyp first, an mdat), undefined for anything else. */
export async function readMoov(path: string, fileSize: number): Promise<Buffer | undefined> {
  const file = await open(path, 'r');
  try {
    const top = await scanTopLevel(file, fileSize);
    const box = top?.find((b) => b.type === 'moov');
    if (!top || top[0]?.type !== 'ftyp' || !box || box.size > MAX_MOOV_BYTES || !top.some((b) => b.type === 'mdat')) return undefined;
    return await readBox(file, box);
  } finally {
    await file.close();
  }
}

export function describeMoov(moov: Buffer): Mp4Description | undefined {
  const root = moovBox(moov);
  const mvhd = find(moov, root, 'mvhd')[0];
  if (!mvhd) return undefined;
  const movieTimescale = timescaleOf(moov, mvhd);
  const tracks: RecordedTrack[] = [];
  let longestSec = 0;
  for (const trak of find(moov, root, 'trak')) {
    const described = describeTrack(moov, trak, movieTimescale);
    if (described === 'unknown') return undefined;
    if (!described) continue;
    tracks.push(described.track);
    longestSec = Math.max(longestSec, described.durationSec);
  }
  // the movie header's duration, as FFmpeg reports it; the longest track when the header has none
  const movieSec = movieTimescale > 0 ? durationOf(moov, mvhd) / movieTimescale : 0;
  return {
    durationMs: Math.round((movieSec > 0 ? movieSec : longestSec) * 1000),
    formatName: MP4_FORMAT_NAME,
    tracks,
    encoder: writingApplication(moov, root),
  };
}

/** undefined: not audio or video (ignored, as ffprobe's data streams are); 'unknown': leave the file to ffprobe */
function describeTrack(moov: Buffer, trak: Box, movieTimescale: number): { track: RecordedTrack; durationSec: number } | undefined | 'unknown' {
  const handler = handlerOf(moov, trak);
  if (handler !== 'vide' && handler !== 'soun') return undefined;
  const stsd = find(moov, trak, 'stsd')[0];
  const mdhd = find(moov, trak, 'mdhd')[0];
  if (!stsd || !mdhd) return 'unknown';
  // mp4mux adds a sample description of the same codec when the resolution changes: the stream is described
  // by its first, as ffprobe does (the first frame's size; the stats then name the size most of it has)
  const entries = children(moov, stsd.offset + 16, stsd.offset + stsd.size);
  const [entry] = entries;
  if (entries.length !== moov.readUInt32BE(stsd.offset + 12) || entries.some((e) => e.type !== entry?.type)) return 'unknown';
  const known = entry && CODECS[entry.type];
  if (!entry || !known || known.kind !== (handler === 'vide' ? 'video' : 'audio')) return 'unknown';
  const track: RecordedTrack = { kind: known.kind, codec: known.codec };
  if (known.kind === 'video') {
    const width = moov.readUInt16BE(entry.offset + 32);
    const height = moov.readUInt16BE(entry.offset + 34);
    if (width > 0) track.width = width;
    if (height > 0) track.height = height;
  } else {
    const audio = entry.type === 'mp4a' ? aacConfig(moov, entry) : { channels: opusChannels(moov, entry), sampleRate: 48000 };
    if (!audio?.channels) return 'unknown';
    track.sampleRate = audio.sampleRate;
    track.channels = audio.channels;
  }
  return { track, durationSec: trackDurationSec(moov, trak, mdhd, movieTimescale) };
}

/** How long a player shows the track: its edit list (empty edits included) or, without one, its media. */
function trackDurationSec(moov: Buffer, trak: Box, mdhd: Box, movieTimescale: number): number {
  const elst = find(moov, trak, 'elst')[0];
  if (elst && movieTimescale > 0) return editListDuration(moov, elst) / movieTimescale;
  const timescale = timescaleOf(moov, mdhd);
  return timescale > 0 ? durationOf(moov, mdhd) / timescale : 0;
}

/**
 * The channels and sample rate of an `mp4a` entry from its AudioSpecificConfig, where players (and ffprobe)
 * take them: the entry's own fields are often fixed values (2 channels for mono). Undefined unless it is
 * MPEG-4 audio (object type 0x40) AAC-LC with a plain channel configuration: ffprobe describes the rest.
 */
function aacConfig(moov: Buffer, entry: Box): { channels: number; sampleRate: number } | undefined {
  // AudioSampleEntry: 8 header + 28 fields, then its boxes (esds)
  const esds = children(moov, entry.offset + 36, entry.offset + entry.size).find((b) => b.type === 'esds');
  if (!esds) return undefined;
  const body = moov.subarray(esds.offset + 12, esds.offset + esds.size);
  // ES_Descriptor (tag 3): ES_ID, flags and what they announce, then DecoderConfigDescriptor (tag 4): object
  // type, stream type, buffer size, bitrates (13 bytes), then DecoderSpecificInfo (tag 5): the AudioSpecificConfig
  let at = descriptorBody(body, 0, 0x03);
  if (at === undefined) return undefined;
  const flags = body[at + 2] ?? 0;
  at += 3;
  if (flags & 0x80) at += 2; // dependsOn_ES_ID
  if (flags & 0x40) at += 1 + (body[at] ?? 0); // URL
  if (flags & 0x20) at += 2; // OCR_ES_ID
  const config = descriptorBody(body, at, 0x04);
  if (config === undefined || body[config] !== 0x40) return undefined;
  const specific = descriptorBody(body, config + 13, 0x05);
  if (specific === undefined || specific + 1 >= body.length) return undefined;
  const bits = ((body[specific] ?? 0) << 8) | (body[specific + 1] ?? 0);
  const objectType = bits >> 11;
  const rate = AAC_RATES[(bits >> 7) & 0x0f];
  const channels = (bits >> 3) & 0x0f;
  if (objectType !== 2 || rate === undefined || channels < 1 || channels > 7) return undefined;
  return { channels: channels === 7 ? 8 : channels, sampleRate: rate };
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** The output channel count of an `Opus` entry's dOps box (ffprobe reports Opus at 48 kHz whatever the input was). */
function opusChannels(moov: Buffer, entry: Box): number | undefined {
  const dops = children(moov, entry.offset + 36, entry.offset + entry.size).find((b) => b.type === 'dOps');
  return dops ? moov.readUInt8(dops.offset + 9) : undefined;
}

/** Where the content of the descriptor with `tag` at `at` starts (after its tag and 1-4 size bytes). */
function descriptorBody(body: Buffer, at: number, tag: number): number | undefined {
  if (body[at] !== tag) return undefined;
  let next = at + 1;
  for (let i = 0; i < 4 && ((body[next] ?? 0) & 0x80) !== 0; i++) next++;
  return next + 1 < body.length ? next + 1 : undefined;
}

/** The `©too` tag of the movie or of a track (mp4mux writes it per track), as ffprobe's `encoder` tag. */
function writingApplication(moov: Buffer, root: Box): string | undefined {
  for (const udta of find(moov, root, 'udta')) {
    for (const meta of children(moov, udta.offset + udta.headerSize, udta.offset + udta.size).filter((b) => b.type === 'meta')) {
      // meta is a full box: 4 bytes of version and flags before its boxes
      const ilst = children(moov, meta.offset + 12, meta.offset + meta.size).find((b) => b.type === 'ilst');
      if (!ilst) continue;
      const too = children(moov, ilst.offset + 8, ilst.offset + ilst.size).find((b) => b.type === '\u00a9too');
      const data = too && children(moov, too.offset + 8, too.offset + too.size).find((b) => b.type === 'data');
      if (data) return moov.toString('utf8', data.offset + 16, data.offset + data.size);
    }
  }
  return undefined;
}
