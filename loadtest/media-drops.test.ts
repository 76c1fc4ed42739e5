import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { MediaDropReader, parseProcNetUdp, socketInodes } from './media-drops.js';

const SAMPLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
12138: 0100007F:5290 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 45786 2 000000009d354aa4 0
12739: 00000000:14E9 00000000:0000 07 00000000:00034000 00:00000000 00000000  1000        0 47934 2 00000000044a77aa 17
`;

test('/proc/net/udp lines give the local port, the inode and the drops', () => {
  assert.deepEqual(parseProcNetUdp(SAMPLE), [
    { localPort: 0x5290, inode: 45786, drops: 0 },
    { localPort: 0x14e9, inode: 47934, drops: 17 },
  ]);
});

test("a process's UDP sockets are found by the inodes of its descriptors", async () => {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  try {
    const port = socket.address().port;
    const line = parseProcNetUdp(readFileSync('/proc/net/udp', 'utf8')).find((s) => s.localPort === port);
    assert.ok(line, 'the socket is in /proc/net/udp');
    assert.ok(socketInodes(process.pid).has(line.inode));
  } finally {
    socket.close();
  }
});

test("the reader counts only the sockets of media's WebRTC range when given it", async () => {
  const sockets = [createSocket('udp4'), createSocket('udp4')];
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
  try {
    const [inRange, outside] = sockets.map((s) => s.address().port) as [number, number];
    const all = new MediaDropReader(() => process.pid);
    all.read();
    assert.ok(inRange in all.byPort() && outside in all.byPort(), 'without a range: every UDP socket of the process');
    const ranged = new MediaDropReader(() => process.pid, { min: inRange, max: inRange });
    ranged.read();
    assert.deepEqual(Object.keys(ranged.byPort()), [String(inRange)]);
  } finally {
    for (const s of sockets) s.close();
  }
});
