import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@recstack/service-kit';
import { ASSUMED_PPS_PER_SESSION, IngestMonitor, ingestRefusal, loadShare, type IngestLoad } from './ingest-load.js';

const idle: IngestLoad = { packetsPerSecond: 0, cpuPercent: undefined, udpDrops: 0 };
const limits = { maxSessions: 10, maxPacketsPerSecond: 0, maxCpuPercent: 0 };

test('sessions: refused at MAX_SESSIONS', () => {
  assert.equal(ingestRefusal(idle, limits, 9, 0), undefined);
  assert.match(ingestRefusal(idle, limits, 10, 0) ?? '', /maximum of 10 sessions/);
});

test("packets per second: the measured rate, plus unmeasured sessions at the others' average", () => {
  const pps = { ...limits, maxPacketsPerSecond: 1000 };
  assert.equal(ingestRefusal({ ...idle, packetsPerSecond: 600 }, pps, 3, 0), undefined);
  assert.match(ingestRefusal({ ...idle, packetsPerSecond: 1000 }, pps, 3, 0) ?? '', /1000 packets\/s of its maximum 1000/);
  // 3 measured at 200 each, 2 joined since: 600 + 400
  assert.ok(ingestRefusal({ ...idle, packetsPerSecond: 600 }, pps, 5, 2));
  // nothing measured yet: each joiner counts as a typical publisher
  assert.equal(ingestRefusal(idle, pps, 4, 4), undefined);
  assert.ok(ingestRefusal(idle, pps, Math.ceil(1000 / ASSUMED_PPS_PER_SESSION), Math.ceil(1000 / ASSUMED_PPS_PER_SESSION)));
});

test('CPU: refused at MEDIA_MAX_CPU once measured; 0 turns every limit but sessions off', () => {
  const cpu = { ...limits, maxCpuPercent: 85 };
  assert.equal(ingestRefusal({ ...idle, cpuPercent: undefined }, cpu, 1, 0), undefined);
  assert.equal(ingestRefusal({ ...idle, cpuPercent: 84 }, cpu, 1, 0), undefined);
  assert.match(ingestRefusal({ ...idle, cpuPercent: 90 }, cpu, 1, 0) ?? '', /CPU is at 90 %/);
  assert.equal(ingestRefusal({ packetsPerSecond: 1e6, cpuPercent: 100, udpDrops: 5 }, limits, 1, 0), undefined);
});

test('the load share is the largest of the shares in use', () => {
  assert.equal(loadShare(idle, limits, 5), 0.5);
  assert.equal(loadShare({ ...idle, packetsPerSecond: 900, cpuPercent: 10 }, { maxSessions: 10, maxPacketsPerSecond: 1000, maxCpuPercent: 50 }, 1), 0.9);
  assert.equal(loadShare({ ...idle, cpuPercent: 45 }, { maxSessions: 10, maxPacketsPerSecond: 0, maxCpuPercent: 50 }, 1), 0.9);
});

test('the monitor measures the rate over sessions present in two samples, and counts the others as unmeasured', async () => {
  let now = 0;
  let packets = new Map([['ses_a', 100]]);
  let drops = 0;
  const monitor = new IngestMonitor(
    { packetsBySession: async () => packets, cpuPercent: () => 42, udpDrops: () => drops },
    createLogger('test', 'silent'),
    1000,
    () => now,
  );
  await monitor.sample();
  assert.equal(monitor.current.packetsPerSecond, 0);
  assert.equal(monitor.unmeasured(['ses_a']), 1);
  now = 2000;
  // ses_a sent 400 in 2 s; ses_b just joined (its 5000 are not a rate yet)
  packets = new Map([
    ['ses_a', 500],
    ['ses_b', 5000],
  ]);
  drops = 3;
  await monitor.sample();
  assert.deepEqual(monitor.current, { packetsPerSecond: 200, cpuPercent: 42, udpDrops: 3 });
  assert.equal(monitor.unmeasured(['ses_a', 'ses_b', 'ses_c']), 2);
  now = 3000;
  // ses_a left: its packets do not count as a negative step
  packets = new Map([['ses_b', 5300]]);
  await monitor.sample();
  assert.equal(monitor.current.packetsPerSecond, 300);
  monitor.close();
});
