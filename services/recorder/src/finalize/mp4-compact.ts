import { open, stat, type FileHandle } from 'node:fs/promises';
import {
  durationOf,
  editListDuration,
  find,
  handlerOf,
  moovBox,
  readBox,
  scanTopLevel,
  setDuration,
  setTrackHeaderDuration,
  timescaleOf,
  trackHeaderDuration,
  type Box,
} from './mp4-boxes.js';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';

/**
 * The MP4 compaction of a stop, in this process instead of an FFmpeg child. GStreamer's robust muxing
 * (mp4mux reserved-max-duration) writes `ftyp, free, moov, free…, mdat`: the index sits in space reserved for
 * the longest recording (~30 MB for 4 h), most of it slack at the end of a short one. The file users get is
 * `ftyp, moov, mdat`: the boxes are moved, the chunk offsets (stco/co64) shifted by how far the media data
 * moved, and undeclared AAC encoder priming, when there is some, declared in the audio track's edit list
 * (media time + priming samples: what FFmpeg's copy wrote before, measured identical). Nothing is decoded or
 * re-muxed: a stop pays a file copy, not the ~50 ms of CPU an FFmpeg process costs to start, which twenty
 * stops at once on two cores felt.
 *
 * Anything but that layout (fragments, several mdat, unknown top-level boxes, a track without an edit list
 * when priming is to be declared) is `unsupported`, and the caller copies with FFmpeg as before.
 */
export type CompactOutcome = { ok: true } | { ok: false; reason: string };

/** Top-level boxes that carry nothing a player needs. */
const SLACK = new Set(['free', 'skip']);
/** A moov beyond this is not what the recorder writes (4 h at 30 fps is ~15 MB): leave it to FFmpeg. */
const MAX_MOOV_BYTES = 256 * 1024 * 1024;

export async function compactMp4(input: string, output: string, audioPrimingSamples: number): Promise<CompactOutcome> {
  const { size: fileSize } = await stat(input);
  const file = await open(input, 'r');
  let header: Buffer;
  let mdat: Box;
  try {
    const boxes = await topLevelBoxes(file, fileSize);
    if (!boxes.ok) return boxes;
    const { ftyp, moov } = boxes;
    mdat = boxes.mdat;
    const ftypBytes = await readBox(file, ftyp);
    const moovBytes = await readBox(file, moov);
    const newMdatOffset = ftyp.size + moov.size;
    const shifted = shiftChunkOffsets(moovBytes, newMdatOffset - mdat.offset);
    if (!shifted.ok) return shifted;
    completeLastVideoSample(moovBytes);
    if (audioPrimingSamples > 0) {
      const declared = declarePriming(moovBytes, audioPrimingSamples);
      if (!declared.ok) return declared;
    }
    header = Buffer.concat([ftypBytes, moovBytes]);
  } finally {
    await file.close();
  }
  const out = createWriteStream(output);
  out.write(header);
  await pipeline(createReadStream(input, { start: mdat.offset }), out);
  return { ok: true };
}

/**
 * Whether an MP4 is already compacted: its index before its media with no reserved slack (a robust-muxed
 * file always has megabytes of it). A salvage must not declare the AAC priming of such a file again.
 */
export async function isCompactedMp4(path: string): Promise<boolean> {
  const { size: fileSize } = await stat(path);
  const file = await open(path, 'r');
  try {
    const found = await scanTopLevel(file, fileSize);
    if (!found) return false;
    const slack = found.filter((b) => SLACK.has(b.type)).reduce((sum, b) => sum + b.size, 0);
    const kinds = found.filter((b) => !SLACK.has(b.type)).map((b) => b.type);
    return kinds.join(',') === 'ftyp,moov,mdat' && slack < 64 * 1024;
  } finally {
    await file.close();
  }
}

async function topLevelBoxes(file: FileHandle, fileSize: number): Promise<{ ok: true; ftyp: Box; moov: Box; mdat: Box } | { ok: false; reason: string }> {
  const found = await scanTopLevel(file, fileSize);
  if (!found) return { ok: false, reason: 'not a sequence of MP4 boxes' };
  const kinds = found.filter((b) => !SLACK.has(b.type));
  const [ftyp, moov, mdat, ...rest] = kinds;
  if (ftyp?.type !== 'ftyp' || moov?.type !== 'moov' || mdat?.type !== 'mdat' || rest.length > 0) {
    return { ok: false, reason: `layout ${kinds.map((b) => b.type).join(',')} is not ftyp,moov,mdat` };
  }
  if (mdat.offset + mdat.size !== fileSize) return { ok: false, reason: 'the media data does not end the file' };
  if (moov.size > MAX_MOOV_BYTES) return { ok: false, reason: 'the index is larger than expected' };
  return { ok: true, ftyp, moov, mdat };
}

/** Adds `delta` to every chunk offset of every track, in place. */
export function shiftChunkOffsets(moov: Buffer, delta: number): CompactOutcome {
  const root = moovBox(moov);
  for (const stco of find(moov, root, 'stco')) {
    const count = moov.readUInt32BE(stco.offset + 12);
    if (stco.offset + 16 + count * 4 > stco.offset + stco.size) return { ok: false, reason: 'a chunk offset table is cut short' };
    for (let i = 0; i < count; i++) {
      const at = stco.offset + 16 + i * 4;
      const moved = moov.readUInt32BE(at) + delta;
      if (moved < 0 || moved > 0xffff_ffff) return { ok: false, reason: 'a chunk offset does not fit 32 bits' };
      moov.writeUInt32BE(moved, at);
    }
  }
  for (const co64 of find(moov, root, 'co64')) {
    const count = moov.readUInt32BE(co64.offset + 12);
    if (co64.offset + 16 + count * 8 > co64.offset + co64.size) return { ok: false, reason: 'a chunk offset table is cut short' };
    for (let i = 0; i < count; i++) {
      const at = co64.offset + 16 + i * 8;
      moov.writeBigUInt64BE(moov.readBigUInt64BE(at) + BigInt(delta), at);
    }
  }
  return { ok: true };
}

/**
 * Declares `samples` of encoder priming on the (first) audio track: its edit starts that much later in the
 * media and lasts that much less, in place. The encoder's first output samples are its priming, not sound,
 * so without this the audio plays that much late (1024 samples: 21 ms).
 */
export function declarePriming(moov: Buffer, samples: number): CompactOutcome {
  const root = moovBox(moov);
  const mvhd = find(moov, root, 'mvhd')[0];
  if (!mvhd) return { ok: false, reason: 'no movie header' };
  const movieTimescale = timescaleOf(moov, mvhd);
  for (const trak of find(moov, root, 'trak')) {
    if (handlerOf(moov, trak) !== 'soun') continue;
    const mdhd = find(moov, trak, 'mdhd')[0];
    const elst = find(moov, trak, 'elst')[0];
    if (!mdhd || !elst) return { ok: false, reason: 'the audio track has no edit list to declare priming in' };
    const mediaTimescale = timescaleOf(moov, mdhd);
    const version = moov.readUInt8(elst.offset + 8);
    const count = moov.readUInt32BE(elst.offset + 12);
    const entrySize = version === 1 ? 20 : 12;
    if (elst.offset + 16 + count * entrySize > elst.offset + elst.size) return { ok: false, reason: 'the edit list is cut short' };
    for (let i = 0; i < count; i++) {
      const at = elst.offset + 16 + i * entrySize;
      const mediaTime = version === 1 ? Number(moov.readBigInt64BE(at + 8)) : moov.readInt32BE(at + 4);
      if (mediaTime < 0) continue; // an empty edit: a delay before the audio starts, left as it is
      const duration = version === 1 ? Number(moov.readBigUInt64BE(at)) : moov.readUInt32BE(at);
      const shorter = Math.max(0, duration - Math.round((samples * movieTimescale) / mediaTimescale));
      if (version === 1) {
        moov.writeBigUInt64BE(BigInt(shorter), at);
        moov.writeBigInt64BE(BigInt(mediaTime + samples), at + 8);
      } else {
        moov.writeUInt32BE(shorter, at);
        moov.writeInt32BE(mediaTime + samples, at + 4);
      }
      updateDurations(moov, root, mvhd, trak, elst);
      return { ok: true };
    }
    return { ok: false, reason: 'the audio edit list has no media edit' };
  }
  return { ok: true };
}

/** The track's header and the movie's header say how long they last after the edit changed, as FFmpeg's copy did. */
function updateDurations(moov: Buffer, root: Box, mvhd: Box, trak: Box, elst: Box | undefined): void {
  const tkhd = find(moov, trak, 'tkhd')[0];
  if (tkhd && elst) setTrackHeaderDuration(moov, tkhd, editListDuration(moov, elst));
  const longest = Math.max(0, ...find(moov, root, 'tkhd').map((t) => trackHeaderDuration(moov, t)));
  if (longest > 0) setDuration(moov, mvhd, longest);
}

/**
 * mp4mux cannot know how long the last frame of a live video lasts (no frame follows it): it writes that
 * sample's duration as 0, and an edit list that ends where the frame begins, so players drop it (FFmpeg marks
 * it discarded: one frame fewer decoded than written). The frame gets the duration of the one before it, and
 * the track, its edit and the movie last that much longer, as FFmpeg's copy made them.
 */
export function completeLastVideoSample(moov: Buffer): void {
  const root = moovBox(moov);
  const mvhd = find(moov, root, 'mvhd')[0];
  if (!mvhd) return;
  const movieTimescale = timescaleOf(moov, mvhd);
  for (const trak of find(moov, root, 'trak')) {
    if (handlerOf(moov, trak) !== 'vide') continue;
    const stts = find(moov, trak, 'stts')[0];
    const mdhd = find(moov, trak, 'mdhd')[0];
    if (!stts || !mdhd) continue;
    const count = moov.readUInt32BE(stts.offset + 12);
    if (count < 2 || stts.offset + 16 + count * 8 > stts.offset + stts.size) continue;
    const last = stts.offset + 16 + (count - 1) * 8;
    const previousDelta = moov.readUInt32BE(last - 4);
    if (moov.readUInt32BE(last) !== 1 || moov.readUInt32BE(last + 4) !== 0 || previousDelta === 0) continue;
    moov.writeUInt32BE(previousDelta, last + 4);
    const mediaTimescale = timescaleOf(moov, mdhd);
    setDuration(moov, mdhd, durationOf(moov, mdhd) + previousDelta);
    const elst = find(moov, trak, 'elst')[0];
    if (elst && mediaTimescale > 0) extendLastEdit(moov, elst, Math.round((previousDelta * movieTimescale) / mediaTimescale));
    updateDurations(moov, root, mvhd, trak, elst);
  }
}

/** Adds `movieUnits` to the last edit that shows media (not an empty edit). */
function extendLastEdit(moov: Buffer, elst: Box, movieUnits: number): void {
  const version = moov.readUInt8(elst.offset + 8);
  const count = moov.readUInt32BE(elst.offset + 12);
  const entrySize = version === 1 ? 20 : 12;
  for (let i = count - 1; i >= 0; i--) {
    const at = elst.offset + 16 + i * entrySize;
    if (at + entrySize > elst.offset + elst.size) continue;
    const mediaTime = version === 1 ? Number(moov.readBigInt64BE(at + 8)) : moov.readInt32BE(at + 4);
    if (mediaTime < 0) continue;
    if (version === 1) moov.writeBigUInt64BE(moov.readBigUInt64BE(at) + BigInt(movieUnits), at);
    else moov.writeUInt32BE(moov.readUInt32BE(at) + movieUnits, at);
    return;
  }
}
