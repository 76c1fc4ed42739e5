import type { FileHandle } from 'node:fs/promises';

/** Reading ISO-BMFF (MP4) boxes: the top level of a file, and the boxes inside a box held in memory. */
export interface Box {
  type: string;
  offset: number;
  size: number;
  headerSize: number;
}

/** Boxes whose content is boxes, on the way to the tables the recorder reads or changes. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'udta']);

/** The file's top-level boxes, undefined when one is not a valid box. */
export async function scanTopLevel(file: FileHandle, fileSize: number): Promise<Box[] | undefined> {
  const found: Box[] = [];
  for (let offset = 0; offset < fileSize;) {
    const box = await boxAt(file, offset, fileSize);
    if (!box) return undefined;
    found.push(box);
    offset += box.size;
  }
  return found;
}

export async function boxAt(file: FileHandle, offset: number, fileSize: number): Promise<Box | undefined> {
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

export async function readBox(file: FileHandle, box: Box): Promise<Buffer> {
  const bytes = Buffer.alloc(box.size);
  const { bytesRead } = await file.read(bytes, 0, box.size, box.offset);
  if (bytesRead !== box.size) throw new Error(`short read of ${box.type}`);
  return bytes;
}

/** The boxes inside `parent` (a Buffer slice of a container box's content), with offsets into `buf`. */
export function children(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let offset = start; offset + 8 <= end;) {
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
export function find(buf: Buffer, box: Box, type: string): Box[] {
  const found: Box[] = [];
  for (const child of children(buf, box.offset + box.headerSize, box.offset + box.size)) {
    if (child.type === type) found.push(child);
    if (CONTAINERS.has(child.type)) found.push(...find(buf, child, type));
  }
  return found;
}

/** A moov box held in memory as the root of `find`. */
export const moovBox = (moov: Buffer): Box => ({ type: 'moov', offset: 0, size: moov.length, headerSize: moov.readUInt32BE(0) === 1 ? 16 : 8 });

/** mvhd and mdhd share the layout up to the timescale: version 0 has 32-bit times, version 1 64-bit. */
export function timescaleOf(buf: Buffer, box: Box): number {
  const version = buf.readUInt8(box.offset + 8);
  return buf.readUInt32BE(box.offset + (version === 1 ? 28 : 20));
}

/** The duration field of an mvhd or mdhd box (version 0: 32 bits, version 1: 64 bits). */
export function durationOf(buf: Buffer, box: Box): number {
  return buf.readUInt8(box.offset + 8) === 1 ? Number(buf.readBigUInt64BE(box.offset + 32)) : buf.readUInt32BE(box.offset + 24);
}

export function setDuration(buf: Buffer, box: Box, value: number): void {
  if (buf.readUInt8(box.offset + 8) === 1) buf.writeBigUInt64BE(BigInt(value), box.offset + 32);
  else buf.writeUInt32BE(value, box.offset + 24);
}

/** tkhd keeps its duration (in the movie's time base) after the track id: at 28 (version 0) or 36 (version 1). */
export function setTrackHeaderDuration(buf: Buffer, tkhd: Box, value: number): void {
  if (buf.readUInt8(tkhd.offset + 8) === 1) buf.writeBigUInt64BE(BigInt(value), tkhd.offset + 36);
  else buf.writeUInt32BE(value, tkhd.offset + 28);
}

export function trackHeaderDuration(buf: Buffer, tkhd: Box): number {
  return buf.readUInt8(tkhd.offset + 8) === 1 ? Number(buf.readBigUInt64BE(tkhd.offset + 36)) : buf.readUInt32BE(tkhd.offset + 28);
}

/** The total of an edit list's segment durations, empty edits included (the movie's time base). */
export function editListDuration(buf: Buffer, elst: Box): number {
  const version = buf.readUInt8(elst.offset + 8);
  const count = buf.readUInt32BE(elst.offset + 12);
  const entrySize = version === 1 ? 20 : 12;
  let total = 0;
  for (let i = 0; i < count && elst.offset + 16 + (i + 1) * entrySize <= elst.offset + elst.size; i++) {
    const at = elst.offset + 16 + i * entrySize;
    total += version === 1 ? Number(buf.readBigUInt64BE(at)) : buf.readUInt32BE(at);
  }
  return total;
}

/** A track's handler type (`vide`, `soun`, …) from its hdlr box; '' when it has none. */
export function handlerOf(buf: Buffer, trak: Box): string {
  const hdlr = find(buf, trak, 'hdlr')[0];
  return hdlr ? buf.toString('latin1', hdlr.offset + 16, hdlr.offset + 20) : '';
}
