import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECOMMENDED_RMEM_BYTES, checkSocketBuffers, raiseSocketBuffers, readSocketBufferSettings } from './socket-buffers.js';

test('the receive buffer settings are read from /proc/sys/net/core (injected reader)', () => {
  const files: Record<string, string> = { rmem_default: '212992\n', rmem_max: '4194304\n' };
  assert.deepEqual(
    readSocketBufferSettings((name) => files[name] ?? ''),
    { rmemDefault: 212992, rmemMax: 4194304 },
  );
  // not Linux, or /proc hidden: nothing to say
  assert.equal(
    readSocketBufferSettings(() => {
      throw new Error('ENOENT');
    }),
    undefined,
  );
  assert.equal(
    readSocketBufferSettings(() => 'garbage'),
    undefined,
  );
});

test('a small default gets the exact sysctl line; rmem_max is raised with it, never lowered', () => {
  const small = checkSocketBuffers({ rmemDefault: 212992, rmemMax: 212992 });
  assert.equal(small.ok, false);
  assert.equal(small.fix, `sysctl -w net.core.rmem_default=${RECOMMENDED_RMEM_BYTES} net.core.rmem_max=${RECOMMENDED_RMEM_BYTES}`);
  const bigMax = checkSocketBuffers({ rmemDefault: 212992, rmemMax: 16 * 1024 * 1024 });
  assert.equal(bigMax.fix, `sysctl -w net.core.rmem_default=4194304 net.core.rmem_max=16777216`);
  // rmem_max alone does not help: Medooze never asks for SO_RCVBUF, so the default is what its sockets get
  assert.equal(checkSocketBuffers({ rmemDefault: RECOMMENDED_RMEM_BYTES, rmemMax: 212992 }).ok, true);
  assert.equal(checkSocketBuffers({ rmemDefault: 8 * 1024 * 1024, rmemMax: 8 * 1024 * 1024 }).fix, undefined);
});

test('make run raises what is too small, rmem_max first, and never lowers anything (injected writer)', () => {
  const written: string[] = [];
  const write = (name: string, value: number) => void written.push(`${name}=${value}`);
  assert.deepEqual(raiseSocketBuffers({ rmemDefault: 212992, rmemMax: 212992 }, RECOMMENDED_RMEM_BYTES, write), [
    { name: 'rmem_max', from: 212992, to: RECOMMENDED_RMEM_BYTES },
    { name: 'rmem_default', from: 212992, to: RECOMMENDED_RMEM_BYTES },
  ]);
  assert.deepEqual(written, [`rmem_max=${RECOMMENDED_RMEM_BYTES}`, `rmem_default=${RECOMMENDED_RMEM_BYTES}`]);
  written.length = 0;
  assert.deepEqual(raiseSocketBuffers({ rmemDefault: 212992, rmemMax: 64 * 1024 * 1024 }, RECOMMENDED_RMEM_BYTES, write), [
    { name: 'rmem_default', from: 212992, to: RECOMMENDED_RMEM_BYTES },
  ]);
  assert.deepEqual(written, [`rmem_default=${RECOMMENDED_RMEM_BYTES}`]);
  written.length = 0;
  assert.deepEqual(raiseSocketBuffers({ rmemDefault: 8 << 20, rmemMax: 8 << 20 }, RECOMMENDED_RMEM_BYTES, write), []);
  assert.deepEqual(written, []);
});
