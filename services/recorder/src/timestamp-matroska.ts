import { crc32 } from 'node:zlib';
import { open } from 'node:fs/promises';

/**
 * FFmpeg's Matroska demuxer takes a video track's DefaultDuration as its frame rate (r_frame_rate), and
 * FFmpeg's muxer writes one from the average rate (≈ 20 fps for Chromium's camera): the acceptance check
 * would then round to that rate, not to the lattice the timestamps were put on (timestamp-lattice.ts).
 * The element is replaced in place by a Void element of the same size — nothing moves, every offset in
 * the file stays right — and the Tracks element's CRC-32, if it has one, is recomputed. Without a
 * DefaultDuration, players take each frame's duration from the timestamps, as GStreamer's own WebM
 * files (which have none for video) already require.
 */

const ID = {
  segment: 0x18538067,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackType: 0x83,
  defaultDuration: 0x23e383,
  crc32: 0xbf,
  cluster: 0x1f43b675,
  void: 0xec,
} as const;
const VIDEO_TRACK = 1;
/** the track list sits right after the header, seek index and segment info */
const HEADER_BYTES = 1024 * 1024;

interface Element {
  id: number;
  /** where the element starts (its ID) */
  start: number;
  /** where its payload starts */
  data: number;
  /** where it ends (exclusive), within the buffer; unknown sizes run to its end */
  end: number;
  /** the element continues past the buffer */
  truncated: boolean;
}

/** Reads an EBML variable-length integer: its value (marker bit removed unless `keepMarker`) and length. */
function readVint(buf: Buffer, at: number, keepMarker: boolean): { value: number; length: number; unknown: boolean } | undefined {
  const first = buf[at];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23;
  if (length > 8 || at + length > buf.length) return undefined;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = buf[at + i] as number;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  return { value, length, unknown: !keepMarker && allOnes };
}

function readElement(buf: Buffer, at: number, limit: number): Element | undefined {
  const id = readVint(buf, at, true);
  if (!id) return undefined;
  const size = readVint(buf, at + id.length, false);
  if (!size) return undefined;
  const data = at + id.length + size.length;
  const end = size.unknown ? limit : data + size.value;
  if (data > limit) return undefined;
  return { id: id.value, start: at, data, end: Math.min(end, limit), truncated: end > limit };
}

function* children(buf: Buffer, parent: { data: number; end: number }): Generator<Element> {
  let at = parent.data;
  while (at < parent.end) {
    const el = readElement(buf, at, parent.end);
    if (!el) return;
    yield el;
    if (el.end <= at) return;
    at = el.end;
  }
}

function uint(buf: Buffer, el: Element): number {
  let v = 0;
  for (let i = el.data; i < el.end; i++) v = v * 256 + (buf[i] as number);
  return v;
}

/**
 * Blanks the DefaultDuration of every video track in the start of a Matroska/WebM file (in `buf`, changed
 * in place). Returns how many were blanked; 0 when there was none or the track list was not found.
 */
export function blankVideoDefaultDuration(buf: Buffer): number {
  let blanked = 0;
  for (const top of children(buf, { data: 0, end: buf.length })) {
    if (top.id !== ID.segment) continue;
    for (const level1 of children(buf, top)) {
      if (level1.id === ID.cluster) return blanked;
      if (level1.id !== ID.tracks) continue;
      if (level1.truncated) return blanked;
      let changed = false;
      for (const entry of children(buf, level1)) {
        if (entry.id !== ID.trackEntry) continue;
        const fields = [...children(buf, entry)];
        const type = fields.find((f) => f.id === ID.trackType);
        const duration = fields.find((f) => f.id === ID.defaultDuration);
        if (!type || uint(buf, type) !== VIDEO_TRACK || !duration) continue;
        writeVoid(buf, duration.start, duration.end - duration.start);
        blanked++;
        changed = true;
      }
      if (changed) updateCrc(buf, level1);
      return blanked;
    }
  }
  return blanked;
}

/** A Void element filling exactly `size` bytes (an 8-byte DefaultDuration becomes ID + size + 6 zeros). */
function writeVoid(buf: Buffer, at: number, size: number): void {
  const payload = size - 2;
  if (payload < 0 || payload > 126) throw new Error(`cannot blank an element of ${size} bytes`);
  buf.fill(0, at, at + size);
  buf[at] = ID.void;
  buf[at + 1] = 0x80 | payload;
}

/** A CRC-32 element, when present, is the first child and covers everything after it (little-endian). */
function updateCrc(buf: Buffer, parent: Element): void {
  const first = children(buf, parent).next().value;
  if (!first || first.id !== ID.crc32 || first.end - first.data !== 4) return;
  buf.writeUInt32LE(crc32(buf.subarray(first.end, parent.end)), first.data);
}

/** Blanks the video DefaultDuration of a Matroska/WebM file in place. */
export async function blankVideoDefaultDurationInFile(path: string): Promise<number> {
  const file = await open(path, 'r+');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(buf, 0, HEADER_BYTES, 0);
    const head = buf.subarray(0, bytesRead);
    const blanked = blankVideoDefaultDuration(head);
    if (blanked > 0) await file.write(head, 0, head.length, 0);
    return blanked;
  } finally {
    await file.close();
  }
}
