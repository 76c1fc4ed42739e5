import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceError } from '@recstack/service-kit';
import { PortAllocator } from './port-allocator.js';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

test('hands out even RTP ports whose RTCP port (+1) fits the range; an odd minimum is rounded up', () => {
  const ports = new PortAllocator({ min: 50001, max: 50010, quarantineMs: 1000 });
  assert.equal(ports.capacity, 4);
  const all = ports.allocate(4);
  assert.deepEqual(
    all.sort((a, b) => a - b),
    [50002, 50004, 50006, 50008],
  );
  for (const p of all) assert.ok(p % 2 === 0 && p + 1 <= 50010);
  assert.throws(
    () => ports.allocate(1),
    (err: unknown) => err instanceof ServiceError && err.code === 'NO_FREE_PORTS',
  );
  assert.throws(() => new PortAllocator({ min: 50001, max: 50002, quarantineMs: 1 }), RangeError);
});

test('never hands out a port twice while it is in use, over many allocations and releases', () => {
  const ports = new PortAllocator({ min: 40000, max: 40099, quarantineMs: 1000 });
  const held = new Set<number>();
  const leases: number[][] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let i = 0; i < 2000; i++) {
    if (leases.length > 0 && (rand() < 0.45 || held.size >= 46)) {
      const lease = leases.splice(Math.floor(rand() * leases.length), 1)[0] ?? [];
      ports.release(lease);
      for (const p of lease) held.delete(p);
    } else {
      const lease = ports.allocate(rand() < 0.5 ? 1 : 2);
      for (const p of lease) {
        assert.equal(held.has(p), false, `port ${p} handed out twice`);
        held.add(p);
      }
      leases.push(lease);
    }
    assert.equal(ports.inUseCount, held.size);
  }
});

test('a released port is the last to be reused (round robin)', () => {
  const ports = new PortAllocator({ min: 50000, max: 50007, quarantineMs: 1000 });
  const [a] = ports.allocate(1);
  ports.release([a ?? 0]);
  const next = ports.allocate(3);
  assert.deepEqual(next, [50002, 50004, 50006]);
  assert.deepEqual(ports.allocate(1), [a]);
});

test('a quarantined port stays out of circulation until the quarantine ends', () => {
  const c = clock();
  const ports = new PortAllocator({ min: 50000, max: 50003, quarantineMs: 60_000, now: c.now });
  const lease = ports.lease(2);
  assert.deepEqual(lease.ports, [50000, 50002]);
  lease.quarantine();
  assert.equal(ports.inUseCount, 0);
  assert.equal(ports.quarantinedCount, 2);
  assert.throws(() => ports.allocate(1), /no 1 free/);
  c.advance(59_999);
  assert.throws(() => ports.allocate(1));
  c.advance(1);
  assert.equal(ports.quarantinedCount, 0);
  assert.deepEqual(ports.allocate(2).sort(), [50000, 50002]);
});

test('a lease ends once: a late release or quarantine cannot touch ports handed to someone else', () => {
  const ports = new PortAllocator({ min: 50000, max: 50001, quarantineMs: 60_000 });
  const first = ports.lease(1);
  assert.equal(first.active, true);
  first.release();
  assert.equal(first.active, false);
  const second = ports.lease(1);
  assert.deepEqual(second.ports, first.ports);
  first.release();
  first.quarantine();
  assert.equal(ports.isInUse(50000), true, 'still held by the second lease');
  assert.equal(ports.quarantinedCount, 0);
  second.release();
  assert.equal(ports.inUseCount, 0);
});

test('releasing what is not in use is harmless; a failed allocation takes nothing', () => {
  const ports = new PortAllocator({ min: 50000, max: 50005, quarantineMs: 1000 });
  ports.release([50000, 12345]);
  ports.allocate(2);
  assert.throws(() => ports.allocate(2));
  assert.equal(ports.inUseCount, 2);
  assert.throws(() => ports.allocate(0), RangeError);
});
