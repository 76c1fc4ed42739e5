import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XGstDepacketizer } from '@recstack/testkit';
import { parseRtpPacket } from './rtp-packet.js';
import { XGstPacketizer, frameRfc4571 } from './xgst-packetizer.js';

test('X-GST packets keep timestamp and SSRC, carry caps and the delta flag, fragment large buffers', () => {
  const pay = new XGstPacketizer();
  const data = Buffer.alloc(150_000, 3);
  const packets = pay.packetize({ payloadType: 100, ssrc: 0xdeadbeef, timestamp: 123456, keyframe: true, caps: 'video/x-av1, width=(int)320', data });
  assert.equal(packets.length, 3);
  const parsed = packets.map((p) => parseRtpPacket(p));
  assert.ok(parsed.every((p) => p?.timestamp === 123456 && p.ssrc === 0xdeadbeef && p.payloadType === 100));
  assert.deepEqual(
    parsed.map((p) => p?.marker),
    [false, false, true],
  );
  // C bit on, D bit off (a keyframe); consecutive sequence numbers; fragment offsets
  assert.equal(parsed[0]?.payload[0], 0x80);
  assert.equal(((parsed[1]?.sequenceNumber ?? 0) - (parsed[0]?.sequenceNumber ?? 0) + 0x10000) & 0xffff, 1);
  assert.equal(parsed[1]?.payload.readUInt32BE(4), 60_000);
  // what rtpgstdepay reassembles: caps, then the data (the test kit mirrors it)
  const depay = new XGstDepacketizer();
  const units = parsed.map((p) => depay.push({ ...(p as NonNullable<typeof p>), seq: p?.sequenceNumber ?? 0 })).filter(Boolean);
  assert.equal(units.length, 1);
  assert.deepEqual(units[0]?.data, data);
  assert.equal(units[0]?.keyframe, true);
  const delta = parseRtpPacket(pay.packetize({ payloadType: 100, ssrc: 1, timestamp: 1, keyframe: false, data: Buffer.from([1]) })[0] as Buffer);
  assert.equal(delta?.payload[0], 0x08);
});

test('RFC 4571 framing puts the length first', () => {
  assert.deepEqual(frameRfc4571(Buffer.from([1, 2, 3])), Buffer.from([0, 3, 1, 2, 3]));
});
