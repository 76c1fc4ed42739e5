import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecorderStartRequest } from '@recstack/contracts';
import { AtCapacityError } from '../errors.js';
import { Admission, decide, type AdmissionSettings } from './admission.js';
import { applyCostOverrides, defaultCostTable } from './cost-table.js';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuGauge, lowestPriorityTicks, parseCpuMax, parseCpuStatUsage, parsePidStat, parseProcStat, systemCpuReader, type CpuCounter } from './cpu-usage.js';

const request = (id: string, audioCodec: 'aac' | 'opus' = 'aac'): RecorderStartRequest => ({
  recordingId: id,
  sessionId: 'ses_1',
  container: 'mp4',
  audioCodec,
  tracks: [
    { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000 },
    { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, port: 50002 },
  ],
});

const settings = (over: Partial<AdmissionSettings> = {}): AdmissionSettings => ({
  capacityUnits: 1000,
  maxCpuPercent: 85,
  maxRecordings: 16,
  costs: defaultCostTable('gstreamer'),
  ...over,
});

test('the default GStreamer costs are the bench figures: 4.36 % of a core with AAC, 2.36 % with Opus copied', () => {
  const s = settings();
  assert.deepEqual(decide(s, request('rec_1'), { running: 0, loadUnits: 0, cpuPercent: undefined }), { ok: true, cost: 436 });
  assert.deepEqual(decide(s, request('rec_1', 'opus'), { running: 0, loadUnits: 0, cpuPercent: undefined }), { ok: true, cost: 236 });
  const ffmpeg = settings({ costs: defaultCostTable('ffmpeg') });
  assert.equal(decide(ffmpeg, request('rec_1'), { running: 0, loadUnits: 0, cpuPercent: undefined }).cost, 388);
});

test('a start whose cost does not fit is refused, one that fits exactly is taken', () => {
  const s = settings({ capacityUnits: 872 });
  assert.equal(decide(s, request('rec_2'), { running: 1, loadUnits: 436, cpuPercent: 10 }).ok, true, '436 + 436 = 872');
  const refused = decide(s, request('rec_3'), { running: 2, loadUnits: 872, cpuPercent: 10 });
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.reason, 'cost');
  assert.equal(decide(s, request('rec_3', 'opus'), { running: 1, loadUnits: 636, cpuPercent: 10 }).ok, true, 'a cheaper recording still fits');
});

test('above the CPU threshold a start is refused while something records here; an idle recorder still takes one', () => {
  const s = settings({ capacityUnits: 100_000 });
  const busy = decide(s, request('rec_2'), { running: 1, loadUnits: 436, cpuPercent: 85 });
  assert.equal(!busy.ok && busy.reason, 'cpu');
  assert.equal(decide(s, request('rec_2'), { running: 1, loadUnits: 436, cpuPercent: 84.9 }).ok, true);
  assert.equal(decide(s, request('rec_1'), { running: 0, loadUnits: 0, cpuPercent: 99 }).ok, true);
  assert.equal(decide(s, request('rec_2'), { running: 1, loadUnits: 436, cpuPercent: undefined }).ok, true, 'not measured yet');
  assert.equal(
    decide(settings({ capacityUnits: 100_000, maxCpuPercent: 100 }), request('rec_2'), { running: 1, loadUnits: 436, cpuPercent: 100 }).ok,
    true,
    '100: no CPU rule',
  );
});

test('MAX_RECORDINGS still bounds the count', () => {
  const refused = decide(settings({ capacityUnits: 100_000, maxRecordings: 2 }), request('rec_3'), { running: 2, loadUnits: 0, cpuPercent: 0 });
  assert.equal(!refused.ok && refused.reason, 'count');
});

test('the ledger books a cost per admitted recording and gives it back on release; refusals are AT_CAPACITY', () => {
  let cpu: number | undefined = 20;
  const admission = new Admission(settings({ capacityUnits: 1000 }), () => cpu);
  assert.equal(admission.admit(request('rec_1')), 436);
  assert.equal(admission.admit(request('rec_2')), 436);
  assert.equal(admission.loadUnits, 872);
  assert.throws(
    () => admission.admit(request('rec_3')),
    (err: unknown) => err instanceof AtCapacityError && err.code === 'AT_CAPACITY' && err.limit === 'cost',
  );
  assert.equal(admission.loadUnits, 872, 'a refusal books nothing');
  admission.release('rec_1');
  admission.release('rec_1');
  assert.equal(admission.loadUnits, 436, 'release is idempotent');
  cpu = 90;
  assert.throws(
    () => admission.admit(request('rec_3', 'opus')),
    (err: unknown) => err instanceof AtCapacityError && err.limit === 'cpu',
  );
  cpu = 50;
  assert.equal(admission.admit(request('rec_3', 'opus')), 236);
  assert.deepEqual(admission.pongFields(), { capacityUnits: 1000, loadUnits: 672, costs: defaultCostTable('gstreamer'), cpuPercent: 50, maxCpuPercent: 85 });
});

test('RECORDER_COSTS overrides single entries and names what it cannot read', () => {
  const table = applyCostOverrides(defaultCostTable('gstreamer'), 'base=100, aac=300,kbps=2000,vp8=1');
  assert.ok(table.ok);
  assert.equal(table.table.base, 100);
  assert.equal(table.table.audioAac, 300);
  assert.equal(table.table.referenceVideoKbps, 2000);
  assert.equal(table.table.video.vp8, 1);
  assert.equal(table.table.video.h264, 160, 'the rest stays');
  const bad = applyCostOverrides(defaultCostTable('gstreamer'), 'gpu=5,aac=-1,base=1.5,kbps=0');
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.problems.length, 4);
});

test('/proc/stat and cgroup v2 files are read as counters', () => {
  assert.deepEqual(parseProcStat('cpu  100 5 20 800 50 0 5 0 0 0\ncpu0 1 2 3 4\n'), { busy: 130, capacity: 980 });
  assert.equal(parseProcStat('intr 1 2 3'), undefined);
  assert.equal(parseCpuMax('max 100000\n'), undefined);
  assert.equal(parseCpuMax('150000 100000\n'), 1.5);
  assert.equal(parseCpuStatUsage('usage_usec 123456\nuser_usec 1\n'), 123456);
});

test('the gauge is the busy share between two samples, unknown before the second', async () => {
  const counters: CpuCounter[] = [
    { busy: 1000, capacity: 10_000 },
    { busy: 1500, capacity: 11_000 },
    { busy: 2400, capacity: 12_000 },
    { busy: 2400, capacity: 12_000 },
  ];
  const gauge = new CpuGauge(async () => counters.shift(), 1000);
  await gauge.sample();
  assert.equal(gauge.percent, undefined);
  await gauge.sample();
  assert.equal(gauge.percent, 50);
  await gauge.sample();
  assert.equal(gauge.percent, 90);
  await gauge.sample();
  assert.equal(gauge.percent, 90, 'no time passed: the last figure stays');
  gauge.close();
});

/** A /proc/<pid>/stat line: utime and stime are fields 14 and 15, nice field 19. */
const pidStat = (pid: number, comm: string, utime: number, stime: number, nice: number) =>
  `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 ${nice} 4 0 12345 1000000 200\n`;

test('a process stat line gives its CPU ticks and niceness, whatever its command name holds', () => {
  assert.deepEqual(parsePidStat(pidStat(42, 'ffmpeg', 150, 30, 19)), { ticks: 180, nice: 19 });
  assert.deepEqual(parsePidStat(pidStat(43, 'gst launch) (x', 7, 3, 5)), { ticks: 10, nice: 5 });
  assert.equal(parsePidStat('garbage'), undefined);
});

test('the CPU of processes at the lowest priority is counted from the first look on, and is not busy', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'proc-'));
  const write = async (pid: number, utime: number, nice: number) => {
    await mkdir(join(proc, String(pid)), { recursive: true });
    await writeFile(join(proc, String(pid), 'stat'), pidStat(pid, 'ffmpeg', utime, 0, nice));
  };
  try {
    await write(10, 500, 19); // a verification running before the first look: only what it uses later counts
    await write(11, 900, 0); // a recording child: never subtracted
    await writeFile(join(proc, 'stat'), 'cpu  1000 0 0 9000 0 0 0 0\n');
    const yielding = lowestPriorityTicks(proc);
    const reader = systemCpuReader(() => 0, join(proc, 'no-cgroup'), join(proc, 'stat'), yielding);
    assert.deepEqual(await reader(), { busy: 1000, capacity: 10_000 });
    await write(10, 560, 19);
    await write(11, 1000, 0);
    await write(12, 40, 19); // a verification started since: all of it counts
    await writeFile(join(proc, 'stat'), 'cpu  1300 0 0 9700 0 0 0 0\n');
    // 300 ticks busy, of which 60 + 40 at nice 19
    assert.deepEqual(await reader(), { busy: 1200, capacity: 11_000 });
    await rm(join(proc, '12'), { recursive: true });
    await writeFile(join(proc, 'stat'), 'cpu  1400 0 0 9800 0 0 0 0\n');
    assert.deepEqual(await reader(), { busy: 1300, capacity: 11_200 }, 'an ended process subtracts nothing more');
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});

test('in a cgroup with a quota the lowest-priority ticks come off its usage, in microseconds', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cgroup-'));
  try {
    await writeFile(join(root, 'cpu.max'), '200000 100000\n');
    await writeFile(join(root, 'cpu.stat'), 'usage_usec 5000000\n');
    let ticks = 0;
    const reader = systemCpuReader(
      () => 10_000,
      root,
      '/nonexistent',
      async () => ticks,
    );
    assert.deepEqual(await reader(), { busy: 5_000_000, capacity: 20_000_000 });
    ticks = 100;
    assert.deepEqual(await reader(), { busy: 4_000_000, capacity: 20_000_000 });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
