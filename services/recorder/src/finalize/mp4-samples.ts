import { find, timescaleOf, type Box } from './mp4-boxes.js';

/**
 * A track's sample tables (stbl), one typed array per column: a 4-hour recording has ~430 000 video samples,
 * so no object per sample. Decode times start at 0 (stts); `composition` is the ctts offset (0 without ctts).
 */
export interface SampleTables {
  /** the media time base (mdhd), ticks per second */
  timescale: number;
  count: number;
  decodeTimes: Float64Array;
  composition: Int32Array;
  hasComposition: boolean;
  /** 1: a sync sample (stss; every sample without stss) */
  sync: Uint8Array;
  sizes: Uint32Array;
  /** file offsets (stsc + stco/co64 + stsz) */
  offsets: Float64Array;
}

/** One edit of the track's edit list: its duration in the movie's time base, media time -1 for an empty edit. */
export interface Edit {
  duration: number;
  mediaTime: number;
}

/** More samples than this is not a file the recorder wrote (4 h at 60 fps is ~870 000). */
const MAX_SAMPLES = 4_000_000;

/** The sample tables of `trak`, undefined when one is missing, cut short or inconsistent with the others. */
export function readSampleTables(moov: Buffer, trak: Box): SampleTables | undefined {
  const box = (type: string) => find(moov, trak, type)[0];
  const mdhd = box('mdhd');
  const stts = box('stts');
  const stsz = box('stsz');
  const stsc = box('stsc');
  const chunkOffsets = box('stco') ?? box('co64');
  if (!mdhd || !stts || !stsz || !stsc || !chunkOffsets) return undefined;
  const timescale = timescaleOf(moov, mdhd);
  const sizes = sampleSizes(moov, stsz);
  if (timescale <= 0 || !sizes || sizes.length === 0) return undefined;
  const count = sizes.length;
  const decodeTimes = decodeTimesOf(moov, stts, count);
  const ctts = box('ctts');
  const composition = ctts ? compositionOf(moov, ctts, count) : new Int32Array(count);
  const sync = syncOf(moov, box('stss'), count);
  const offsets = sampleOffsets(moov, stsc, chunkOffsets, sizes);
  if (!decodeTimes || !composition || !sync || !offsets) return undefined;
  return { timescale, count, decodeTimes, composition, hasComposition: ctts !== undefined, sync, sizes, offsets };
}

/** A full box's entry count at 12, its entries from 16; undefined when the entries overrun the box. */
function entries(moov: Buffer, box: Box, entrySize: number, first = 16): number | undefined {
  const count = moov.readUInt32BE(box.offset + first - 4);
  return box.offset + first + count * entrySize <= box.offset + box.size ? count : undefined;
}

function sampleSizes(moov: Buffer, stsz: Box): Uint32Array | undefined {
  const fixed = moov.readUInt32BE(stsz.offset + 12);
  const count = entries(moov, stsz, fixed === 0 ? 4 : 0, 20);
  if (count === undefined || count > MAX_SAMPLES) return undefined;
  const sizes = new Uint32Array(count);
  if (fixed !== 0) return sizes.fill(fixed);
  for (let i = 0; i < count; i++) sizes[i] = moov.readUInt32BE(stsz.offset + 20 + i * 4);
  return sizes;
}

function decodeTimesOf(moov: Buffer, stts: Box, count: number): Float64Array | undefined {
  const runs = entries(moov, stts, 8);
  if (runs === undefined) return undefined;
  const times = new Float64Array(count);
  let sample = 0;
  let time = 0;
  for (let r = 0; r < runs; r++) {
    const at = stts.offset + 16 + r * 8;
    const n = moov.readUInt32BE(at);
    const delta = moov.readUInt32BE(at + 4);
    for (let k = 0; k < n && sample < count; k++, sample++) {
      times[sample] = time;
      time += delta;
    }
  }
  return sample === count ? times : undefined;
}

/** ctts version 0 offsets are unsigned, version 1 signed (what FFmpeg reads either way as signed 32 bits). */
function compositionOf(moov: Buffer, ctts: Box, count: number): Int32Array | undefined {
  const runs = entries(moov, ctts, 8);
  if (runs === undefined) return undefined;
  const offsets = new Int32Array(count);
  let sample = 0;
  for (let r = 0; r < runs; r++) {
    const at = ctts.offset + 16 + r * 8;
    const n = moov.readUInt32BE(at);
    const offset = moov.readInt32BE(at + 4);
    for (let k = 0; k < n && sample < count; k++, sample++) offsets[sample] = offset;
  }
  return sample === count ? offsets : undefined;
}

function syncOf(moov: Buffer, stss: Box | undefined, count: number): Uint8Array | undefined {
  const sync = new Uint8Array(count);
  if (!stss) return sync.fill(1);
  const n = entries(moov, stss, 4);
  if (n === undefined) return undefined;
  for (let i = 0; i < n; i++) {
    const number = moov.readUInt32BE(stss.offset + 16 + i * 4);
    if (number >= 1 && number <= count) sync[number - 1] = 1;
  }
  return sync;
}

/** Each sample's file offset: chunks (stco/co64) hold runs of samples (stsc), back to back (stsz). */
function sampleOffsets(moov: Buffer, stsc: Box, chunkBox: Box, sizes: Uint32Array): Float64Array | undefined {
  const wide = chunkBox.type === 'co64';
  const chunks = entries(moov, chunkBox, wide ? 8 : 4);
  const runs = entries(moov, stsc, 12);
  if (chunks === undefined || runs === undefined || runs === 0) return undefined;
  const chunkOffset = (c: number) => {
    const at = chunkBox.offset + 16 + c * (wide ? 8 : 4);
    return wide ? Number(moov.readBigUInt64BE(at)) : moov.readUInt32BE(at);
  };
  const offsets = new Float64Array(sizes.length);
  let sample = 0;
  for (let r = 0; r < runs && sample < sizes.length; r++) {
    const at = stsc.offset + 16 + r * 12;
    const firstChunk = moov.readUInt32BE(at) - 1;
    const perChunk = moov.readUInt32BE(at + 4);
    const endChunk = r + 1 < runs ? moov.readUInt32BE(at + 12) - 1 : chunks;
    if (firstChunk < 0 || endChunk > chunks || endChunk < firstChunk) return undefined;
    for (let c = firstChunk; c < endChunk && sample < sizes.length; c++) {
      let offset = chunkOffset(c);
      for (let k = 0; k < perChunk && sample < sizes.length; k++, sample++) {
        offsets[sample] = offset;
        offset += sizes[sample] ?? 0;
      }
    }
  }
  return sample === sizes.length ? offsets : undefined;
}

/** The edit list of `trak` (empty when it has none), undefined when it is cut short. */
export function editsOf(moov: Buffer, trak: Box): Edit[] | undefined {
  const elst = find(moov, trak, 'elst')[0];
  if (!elst) return [];
  const version = moov.readUInt8(elst.offset + 8);
  const entrySize = version === 1 ? 20 : 12;
  const count = entries(moov, elst, entrySize);
  if (count === undefined) return undefined;
  const edits: Edit[] = [];
  for (let i = 0; i < count; i++) {
    const at = elst.offset + 16 + i * entrySize;
    edits.push(
      version === 1
        ? { duration: Number(moov.readBigUInt64BE(at)), mediaTime: Number(moov.readBigInt64BE(at + 8)) }
        : { duration: moov.readUInt32BE(at), mediaTime: moov.readInt32BE(at + 4) },
    );
  }
  return edits;
}
