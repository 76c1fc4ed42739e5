import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Av1Packetizer } from '@recstack/testkit';
import { Av1Depacketizer, normalizeObu, readLeb128, writeLeb128 } from './av1-depacketizer.js';
import { av1StreamSize } from './av1-sequence-header.js';
import { parseRtpPacket, type RtpPacket } from './rtp-packet.js';

// a sequence header OBU as libaom writes it for 320x180 (type 1, with size field), and made-up frame OBUs
const SEQUENCE_HEADER = Buffer.from('0a0b200000043cfecf81b5f204', 'hex');
const obu = (type: number, payload: Buffer) => Buffer.concat([Buffer.from([(type << 3) | 0x02]), writeLeb128(payload.length), payload]);
const frame = (size: number, fill: number) => obu(6, Buffer.alloc(size, fill));

let seq = 1000;
function packet(payload: Buffer, timestamp: number, marker: boolean, sequenceNumber = seq++): RtpPacket {
  return { payloadType: 96, sequenceNumber, timestamp, ssrc: 42, marker, payload };
}
/** an RTP OBU element: the OBU without its size field */
const element = (o: Buffer) => {
  const h = o[0] as number;
  const size = readLeb128(o, 1);
  assert.ok(size);
  return Buffer.concat([Buffer.from([h & ~0x02]), o.subarray(1 + size.bytes)]);
};
const withLength = (e: Buffer) => Buffer.concat([writeLeb128(e.length), e]);

test('a keyframe unit in one packet (W=0): OBUs come out with size fields, keyframe from the N bit', () => {
  const d = new Av1Depacketizer();
  const key = frame(50, 1);
  const units = d.push(packet(Buffer.concat([Buffer.from([0x08]), withLength(element(SEQUENCE_HEADER)), withLength(element(key))]), 9000, true));
  assert.equal(units.length, 1);
  assert.equal(units[0]?.keyframe, true);
  assert.equal(units[0]?.timestamp, 9000);
  assert.deepEqual(units[0]?.data, Buffer.concat([SEQUENCE_HEADER, key]));
});

test('W=2: the last element has no length; an OBU fragmented over packets (Y, then Z) is joined', () => {
  const d = new Av1Depacketizer();
  const key = frame(300, 7);
  const e = element(key);
  const first = Buffer.concat([Buffer.from([0x08 | 0x40 | 0x20]), withLength(element(SEQUENCE_HEADER)), e.subarray(0, 100)]);
  const second = Buffer.concat([Buffer.from([0x80 | 0x10]), e.subarray(100)]);
  assert.deepEqual(d.push(packet(first, 1, false)), []);
  const units = d.push(packet(second, 1, true));
  assert.deepEqual(units[0]?.data, Buffer.concat([SEQUENCE_HEADER, key]));
});

test('nothing before the first keyframe; a lost packet drops units until the next keyframe', () => {
  const d = new Av1Depacketizer();
  const delta = (ts: number) => packet(Buffer.concat([Buffer.from([0x10]), element(frame(20, ts & 0xff))]), ts, true);
  const key = (ts: number) => packet(Buffer.concat([Buffer.from([0x08]), withLength(element(SEQUENCE_HEADER)), withLength(element(frame(40, 9)))]), ts, true);
  assert.deepEqual(d.push(delta(100)), [], 'no keyframe yet');
  assert.equal(d.push(key(200)).length, 1);
  assert.equal(d.push(delta(300)).length, 1);
  seq += 1; // one packet lost
  assert.deepEqual(d.push(delta(500)), [], 'broken by the loss');
  assert.deepEqual(d.push(delta(600)), [], 'still waiting for a keyframe');
  assert.equal(d.push(key(700))[0]?.keyframe, true);
  assert.equal(d.dropped, 3);
});

test('temporal delimiters, padding and tile lists are dropped; size fields are added or kept', () => {
  assert.equal(normalizeObu(Buffer.from([2 << 3])), null);
  assert.equal(normalizeObu(Buffer.from([15 << 3, 1, 2])), null);
  assert.equal(normalizeObu(Buffer.from([0x80 | (6 << 3)])), undefined, 'forbidden bit');
  assert.deepEqual(normalizeObu(Buffer.from([6 << 3, 9, 9, 9])), Buffer.from([(6 << 3) | 2, 3, 9, 9, 9]));
  assert.deepEqual(normalizeObu(Buffer.from([(6 << 3) | 2, 2, 9, 9])), Buffer.from([(6 << 3) | 2, 2, 9, 9]));
  // with an extension header
  assert.deepEqual(normalizeObu(Buffer.from([(6 << 3) | 4, 0x20, 7])), Buffer.from([(6 << 3) | 6, 0x20, 1, 7]));
});

test('LEB128 round trip', () => {
  for (const n of [0, 1, 127, 128, 300, 16383, 16384, 2 ** 21 + 5]) assert.equal(readLeb128(writeLeb128(n), 0)?.value, n);
});

test('the sequence header gives the stream size', () => {
  assert.deepEqual(av1StreamSize(Buffer.concat([SEQUENCE_HEADER, frame(10, 1)])), { maxWidth: 320, maxHeight: 180 });
  assert.equal(av1StreamSize(frame(10, 1)), undefined);
});

test('round trip with the test kit packetizer: large units fragment and come back identical', () => {
  const pay = new Av1Packetizer(96, 500);
  const d = new Av1Depacketizer();
  const units = [
    { data: Buffer.concat([SEQUENCE_HEADER, frame(4000, 3)]), keyframe: true, timestamp: 3000, ssrc: 7 },
    { data: Buffer.concat([frame(900, 4), frame(10, 5)]), keyframe: false, timestamp: 6000, ssrc: 7 },
  ];
  const out = units.flatMap((u) => pay.packetize(u).flatMap((p) => d.push(parseRtpPacket(p) as RtpPacket)));
  assert.equal(out.length, 2);
  assert.deepEqual(
    out.map((u) => u.data),
    units.map((u) => u.data),
  );
  assert.deepEqual(
    out.map((u) => u.keyframe),
    [true, false],
  );
});
