import { open, stat, type FileHandle } from 'node:fs/promises';
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

interface Box {
  type: string;
  offset: number;
  size: number;
  headerSize: number;
}

/** Top-level boxes that carry nothing a player needs. */
const SLACK = new Set(['free', 'skip']);
/** Boxes whose content is boxes, on the way to the tables this changes. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts']);
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

/** The file's top-level boxes, undefined when one is not a valid box. */
async function scanTopLevel(file: FileHandle, fileSize: number): Promise<Box[] | undefined> {
  const found: Box[] = [];
  for (let offset = 0; offset < fileSize; ) {
    const box = await boxAt(file, offset, fileSize);
    if (!box) return undefined;
    found.push(box);
    offset += box.size;
  }
  return found;
}

async function topLevelBoxes(file: FileHandle, fileSize: number): Promise<({ ok: true; ftyp: Box; moov: Box; mdat: Box }) | { ok: false; reason: string }> {
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

async function boxAt(file: FileHandle, offset: number, fileSize: number): Promise<Box | undefined> {
  const head = Buffer.alloc(16);
  const { bytesRead } = await file.read(head, 0, 16, offset);
  if (bytesRead < 8) return undefined;
  let size = head.readUInt32BE(0);
  const type = head.toString('latin1', 4, 8);
  let headerSize = 8;
  if (size === 1) {
    if (bytesRead < 16) return undefined;
    size = Number(head.readBigUInt64BE(8));
    headerSize = 16;
  } else if (size === 0) {
    size = fileSize - offset;
  }
  if (size < headerSize || offset + size > fileSize) return undefined;
  return { type, offset, size, headerSize };
}

async function readBox(file: FileHandle, box: Box): Promise<Buffer> {
  const bytes = Buffer.alloc(box.size);
  const { bytesRead } = await file.read(bytes, 0, box.size, box.offset);
  if (bytesRead !== box.size) throw new Error(`short read of ${box.type}`);
  return bytes;
}

/** The boxes inside `parent` (a Buffer slice of a container box's content), with offsets into `buf`. */
function children(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let offset = start; offset + 8 <= end; ) {
    let size = buf.readUInt32BE(offset);
    let headerSize = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(offset + 8));
      headerSize = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < headerSize || offset + size > end) break;
    out.push({ type: buf.toString('latin1', offset + 4, offset + 8), offset, size, headerSize });
    offset += size;
  }
  return out;
}

/** Every box of `type` below the container box at `box`, depth first. */
function find(buf: Buffer, box: Box, type: string): Box[] {
  const found: Box[] = [];
  for (const child of children(buf, box.offset + box.headerSize, box.offset + box.size)) {
    if (child.type === type) found.push(child);
    if (CONTAINERS.has(child.type)) found.push(...find(buf, child, type));
  }
  return found;
}

const moovBox = (moov: Buffer): Box => ({ type: 'moov', offset: 0, size: moov.length, headerSize: moov.readUInt32BE(0) === 1 ? 16 : 8 });

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
    const hdlr = find(moov, trak, 'hdlr')[0];
    if (!hdlr || moov.toString('latin1', hdlr.offset + 16, hdlr.offset + 20) !== 'soun') continue;
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
      return { ok: true };
    }
    return { ok: false, reason: 'the audio edit list has no media edit' };
  }
  return { ok: true };
}

/** mvhd and mdhd share the layout up to the timescale: version 0 has 32-bit times, version 1 64-bit. */
function timescaleOf(buf: Buffer, box: Box): number {
  const version = buf.readUInt8(box.offset + 8);
  return buf.readUInt32BE(box.offset + (version === 1 ? 28 : 20));
}
