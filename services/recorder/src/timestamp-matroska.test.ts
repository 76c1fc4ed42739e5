import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { blankVideoDefaultDuration } from './timestamp-matroska.js';

/** An EBML element: ID bytes, a 1-byte (or unknown-size) length, payload. */
function el(id: number[], payload: Buffer | number[], unknownSize = false): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const size = unknownSize ? Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) : body.length < 127 ? Buffer.from([0x80 | body.length]) : Buffer.from([0x40 | (body.length >> 8), body.length & 0xff]);
  return Buffer.concat([Buffer.from(id), size, body]);
}
const uint = (n: number, bytes: number) => {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(n, 0, bytes);
  return b;
};
const TRACK_TYPE = [0x83];
const DEFAULT_DURATION = [0x23, 0xe3, 0x83];
const track = (number: number, type: number, durationNs?: number) =>
  el([0xae], Buffer.concat([el([0xd7], [number]), el(TRACK_TYPE, [type]), ...(durationNs ? [el(DEFAULT_DURATION, uint(durationNs, 4))] : []), el([0x86], Buffer.from('V_VP8'))]));
const header = el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], Buffer.from('webm')));
const info = el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], uint(1_000_000, 3)));
const cluster = el([0x1f, 0x43, 0xb6, 0x75], el([0xe7], [0]));

function file(tracksBody: Buffer, segmentUnknownSize = false): Buffer {
  const tracks = el([0x16, 0x54, 0xae, 0x6b], tracksBody);
  return Buffer.concat([header, el([0x18, 0x53, 0x80, 0x67], Buffer.concat([info, tracks, cluster]), segmentUnknownSize)]);
}

test("the video track's DefaultDuration becomes a Void of the same size; audio's stays; nothing moves", () => {
  const before = file(Buffer.concat([track(1, 1, 49_993_710), track(2, 2, 20_000_000)]));
  const after = Buffer.from(before);
  assert.equal(blankVideoDefaultDuration(after), 1);
  assert.equal(after.length, before.length);
  const at = before.indexOf(Buffer.from(DEFAULT_DURATION));
  assert.deepEqual([...after.subarray(at, at + 8)], [0xec, 0x86, 0, 0, 0, 0, 0, 0]);
  assert.equal(after.indexOf(Buffer.from(DEFAULT_DURATION)), before.lastIndexOf(Buffer.from(DEFAULT_DURATION)), "the audio track's is left");
  let differing = 0;
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) differing++;
  assert.ok(differing <= 8);
  assert.equal(blankVideoDefaultDuration(after), 0, 'a second pass finds nothing');
});

test("the Tracks element's CRC-32 is recomputed over what follows it", () => {
  const entries = track(1, 1, 33_333_333);
  const withCrc = (body: Buffer) => Buffer.concat([el([0xbf], uint(crc32(body), 4).reverse()), body]);
  const buf = file(withCrc(entries));
  assert.equal(blankVideoDefaultDuration(buf), 1);
  const tracksAt = buf.indexOf(Buffer.from([0x16, 0x54, 0xae, 0x6b]));
  const crcAt = tracksAt + 5;
  assert.equal(buf[crcAt], 0xbf);
  const after = buf.subarray(crcAt + 6, tracksAt + 5 + 6 + entries.length);
  assert.equal(buf.readUInt32LE(crcAt + 2), crc32(after));
});

test('a segment of unknown size (written live) is searched too; files without a video DefaultDuration are left alone', () => {
  assert.equal(blankVideoDefaultDuration(file(track(1, 1, 50_000_000), true)), 1);
  const noDuration = file(Buffer.concat([track(1, 1), track(2, 2, 20_000_000)]));
  const copy = Buffer.from(noDuration);
  assert.equal(blankVideoDefaultDuration(copy), 0);
  assert.deepEqual(copy, noDuration);
  assert.equal(blankVideoDefaultDuration(Buffer.from('not a matroska file at all')), 0);
  assert.equal(blankVideoDefaultDuration(Buffer.alloc(0)), 0);
});

test('a track list cut off by the end of the read buffer is not touched', () => {
  const whole = file(Buffer.concat([track(1, 1, 50_000_000), track(2, 2, 20_000_000)]));
  const cut = Buffer.from(whole.subarray(0, whole.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75])) - 12));
  const copy = Buffer.from(cut);
  assert.equal(blankVideoDefaultDuration(copy), 0);
  assert.deepEqual(copy, cut);
});
