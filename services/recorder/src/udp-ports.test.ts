import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { parseProcNetUdp, portsBoundBy, unbindablePorts } from './udp-ports.js';

test('/proc/net/udp lines map local ports to socket inodes', () => {
  const text = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    ' 1160: 0100007F:A028 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3711829 2 0000000000000000 0',
    ' 1161: 0100007F:A029 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3711830 2 0000000000000000 0',
    '',
  ].join('\n');
  assert.deepEqual(
    [...parseProcNetUdp(text)],
    [
      [41000, ['3711829']],
      [41001, ['3711830']],
    ],
  );
});

test('a bound port is found unbindable, and bound by this process', async () => {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  try {
    assert.deepEqual(await unbindablePorts([port], '127.0.0.1'), [port]);
    assert.equal(await portsBoundBy(process.pid, [port]), true);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  assert.deepEqual(await unbindablePorts([port], '127.0.0.1'), []);
  assert.equal(await portsBoundBy(process.pid, [port]), false);
});
