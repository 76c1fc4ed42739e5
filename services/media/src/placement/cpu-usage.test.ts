import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CpuUsage, cgroupCpuLimit, cgroupUsageMicros, procStatTimes } from './cpu-usage.js';

test('cgroup and /proc/stat texts are read', () => {
  assert.equal(cgroupCpuLimit('max 100000\n'), undefined);
  assert.equal(cgroupCpuLimit('200000 100000\n'), 2);
  assert.equal(cgroupCpuLimit(undefined), undefined);
  assert.equal(cgroupUsageMicros('usage_usec 123456\nuser_usec 1\n'), 123456);
  assert.deepEqual(procStatTimes('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5\n'), { busy: 150, total: 1000 });
  assert.equal(procStatTimes('intr 1 2'), undefined);
});

test('without a cgroup limit the machine is measured between two samples', () => {
  let stat = 'cpu  100 0 100 700 100 0 0 0 0 0\n';
  const usage = new CpuUsage((path) => (path === '/proc/stat' ? stat : undefined));
  assert.equal(usage.scope, 'machine');
  assert.equal(usage.sample(), undefined);
  // 100 more jiffies, 60 of them busy (iowait counts as idle)
  stat = 'cpu  150 0 110 730 110 0 0 0 0 0\n';
  assert.equal(usage.sample(), 60);
});

test('under a cgroup CPU limit the percentage is of the quota', () => {
  let usec = 0;
  let now = 0;
  const files: Record<string, () => string> = { '/sys/fs/cgroup/cpu.max': () => '50000 100000', '/sys/fs/cgroup/cpu.stat': () => `usage_usec ${usec}\n` };
  const usage = new CpuUsage(
    (path) => files[path]?.(),
    () => now,
  );
  assert.equal(usage.scope, 'cgroup');
  assert.equal(usage.sample(), undefined);
  // half a core allowed; 0.4 s of CPU in 1 s of wall time is 80 % of it
  usec = 400_000;
  now = 1_000_000;
  assert.equal(Math.round(usage.sample() ?? -1), 80);
});
