/** An inclusive byte range of a file, as in `Content-Range: bytes start-end/size`. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RangeResult =
  /** no Range header, or one we may ignore (another unit, several ranges): send the whole file */
  | { type: 'full' }
  | { type: 'partial'; range: ByteRange }
  /** syntactically valid but outside the file: 416 */
  | { type: 'unsatisfiable' };

const SINGLE = /^bytes=(\d*)-(\d*)$/;

/**
 * Interprets a Range header for a file of `size` bytes (RFC 9110 §14). One range is served; a header
 * with several ranges is answered with the whole file, which the RFC allows and players never need.
 * A malformed header is ignored, as the RFC says, rather than refused.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { type: 'full' };
  const match = SINGLE.exec(header.trim().replace(/\s+/g, ''));
  if (!match) return { type: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { type: 'full' };
  if (first === '') {
    // suffix range: the last N bytes
    const length = Number(last);
    if (!Number.isSafeInteger(length)) return { type: 'full' };
    if (length === 0 || size === 0) return { type: 'unsatisfiable' };
    return { type: 'partial', range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return { type: 'full' };
  const lastByte = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  // "bytes=5-1" is not a range at all: ignored, like any invalid header
  if (lastByte < start) return { type: 'full' };
  if (start >= size) return { type: 'unsatisfiable' };
  return { type: 'partial', range: { start, end: Math.min(lastByte, size - 1) } };
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
