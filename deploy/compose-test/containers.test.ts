import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demux, usageBetween, type StatsSample } from './containers.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('container logs: the multiplexed stream becomes text, plain text stays as it is', () => {
  assert.equal(demux(Buffer.concat([frame(1, 'out line\n'), frame(2, 'err line\n')])), 'out line\nerr line\n');
  assert.equal(demux(Buffer.from('{"level":"info","msg":"service ready"}\n')), '{"level":"info","msg":"service ready"}\n');
  assert.equal(demux(Buffer.alloc(0)), '');
});

test('container usage: CPU in percent of one core from two samples, memory without inactive files', () => {
  const sample = (total: number, system: number, usage: number): StatsSample => ({
    cpu_stats: { cpu_usage: { total_usage: total }, system_cpu_usage: system, online_cpus: 2 },
    memory_stats: { usage, stats: { inactive_file: 16 * 1024 * 1024 } },
  });
  // 0.5 s of CPU in 2 s of wall clock (the two cores together ran 4 s): a quarter of one core
  const usage = usageBetween(sample(1e9, 100e9, 0), sample(1.5e9, 104e9, 80 * 1024 * 1024), 2000);
  assert.equal(usage.cpuPercent, 25);
  assert.equal(usage.memoryMiB, 64);
  // an engine without system_cpu_usage: the wall-clock window stands in
  const bare = (total: number): StatsSample => ({ cpu_stats: { cpu_usage: { total_usage: total } }, memory_stats: {} });
  assert.equal(usageBetween(bare(0), bare(1e9), 2000).cpuPercent, 50);
});
