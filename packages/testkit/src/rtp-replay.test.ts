import { test } from 'node:test';
import assert from 'node:assert/strict';
import { senderReport, shiftVideoFrames, splitRfc4571 } from './rtp-replay.js';

test('splitRfc4571 reads length-prefixed packets and ignores a truncated tail', () => {
  const data = Buffer.from([0, 2, 0xaa, 0xbb, 0, 1, 0xcc, 0, 5, 1]);
  assert.deepEqual(
    splitRfc4571(data).map((p) => [...p]),
    [[0xaa, 0xbb], [0xcc]],
  );
});

test('senderReport: SR with the RTP time extrapolated to the send moment, then SDES with the CNAME', () => {
  const wallClockMs = Date.UTC(2025, 0, 1, 0, 0, 0, 500);
  const packet = senderReport({ ssrc: 0x11111111, clockRate: 90_000, firstTs: 1000, packets: 7, octets: 7000 }, 2000, wallClockMs);
  assert.equal(packet.readUInt8(0), 0x80);
  assert.equal(packet.readUInt8(1), 200);
  assert.equal(packet.readUInt16BE(2), 6, 'SR length in 32-bit words minus one');
  assert.equal(packet.readUInt32BE(4), 0x11111111);
  assert.equal(packet.readUInt32BE(8), wallClockMs / 1000 - 0.5 + 2_208_988_800, 'NTP seconds since 1900');
  assert.equal(packet.readUInt32BE(12), 2 ** 31, 'half a second as an NTP fraction');
  assert.equal(packet.readUInt32BE(16), 1000 + 2 * 90_000, 'RTP time of the first packet plus 2 s');
  assert.equal(packet.readUInt32BE(20), 7);
  assert.equal(packet.readUInt32BE(24), 7000);
  const sdes = packet.subarray(28);
  assert.equal(sdes.readUInt8(0), 0x81);
  assert.equal(sdes.readUInt8(1), 202);
  assert.equal((sdes.readUInt16BE(2) + 1) * 4, sdes.length, 'SDES length matches, padded to 32 bits');
  assert.equal(sdes.readUInt32BE(4), 0x11111111);
  assert.equal(sdes.readUInt8(8), 1, 'CNAME item');
  assert.equal(sdes.toString('ascii', 10, 10 + sdes.readUInt8(9)), 'recstack-bench');
});

test('shiftVideoFrames moves whole frames (packets sharing a timestamp) and leaves the dump untouched', () => {
  const packet = (ts: number) => {
    const p = Buffer.alloc(12);
    p.writeUInt32BE(ts, 4);
    return p;
  };
  const dump = [packet(0), packet(0), packet(3000), packet(6000), packet(6000), packet(9000)];
  const shifted = shiftVideoFrames(dump, (frame) => (frame === 2 ? 20 : frame === 3 ? -1 : 0));
  assert.deepEqual(
    shifted.map((p) => p.readUInt32BE(4)),
    [0, 0, 3000, 7800, 7800, 8910],
  );
  assert.deepEqual(
    dump.map((p) => p.readUInt32BE(4)),
    [0, 0, 3000, 6000, 6000, 9000],
  );
  assert.equal(shifted[0], dump[0], 'unshifted packets are not copied');
});
