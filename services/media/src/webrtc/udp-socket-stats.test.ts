import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { ownSocketInodes, parseProcNetUdp, udpDropsByPort } from './udp-socket-stats.js';

// two sockets on 40003 (0x9C43, one another process's) and one on 40017 (0x9C51) with 137 drops
const TABLE = [
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops             ',
  ' 1234: 0100007F:9C43 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 20311 2 00000000c35d0d02 0         ',
  ' 1250: 00000000:9C51 00000000:0000 07 00000000:00034000 00:00000000 00000000  1000        0 20399 2 00000000c35d0d03 137       ',
  ' 1300: 0200007F:9C43 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99999 2 00000000c35d0d04 5         ',
  'truncated line',
].join('\n');

test('/proc/net/udp lines give port, inode, queue and drops', () => {
  assert.deepEqual(parseProcNetUdp(TABLE), [
    { localPort: 40003, inode: 20311, drops: 0, rxQueueBytes: 0 },
    { localPort: 40017, inode: 20399, drops: 137, rxQueueBytes: 0x34000 },
    { localPort: 40003, inode: 99999, drops: 5, rxQueueBytes: 0 },
  ]);
  assert.deepEqual(parseProcNetUdp(''), []);
});

test('drops are counted only for the ports asked about and the sockets this process owns', () => {
  const drops = udpDropsByPort([40003, 40017, 40099], { readTables: () => [TABLE], ownInodes: () => new Set([20311, 20399]) });
  assert.deepEqual(
    [...drops].map(([port, l]) => [port, l.drops]),
    [
      [40003, 0],
      [40017, 137],
    ],
  );
});

test('a real socket of this process is found by its inode in the real /proc', async (t) => {
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  assert.ok(ownSocketInodes().size > 0);
  const found = udpDropsByPort([port]);
  assert.equal(found.get(port)?.localPort, port);
  assert.equal(found.get(port)?.drops, 0);
});
