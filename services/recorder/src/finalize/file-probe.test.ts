import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PauseGate } from '../verification/pause-gate.js';
import { parseProbe, prioritized, run } from './file-probe.js';

test('streams become tracks with resolution or sample rate; data streams are ignored', () => {
  const facts = parseProbe(
    {
      format: { duration: '8.034667', format_name: 'mov,mp4,m4a,3gp,3g2,mj2', tags: { major_brand: 'isom', encoder: 'Lavf59.27.100' } },
      streams: [
        { codec_type: 'video', codec_name: 'h264', width: 960, height: 540, duration: '7.9' },
        { codec_type: 'audio', codec_name: 'aac', sample_rate: '48000', channels: 2, duration: '8.03' },
        { codec_type: 'data', codec_name: 'bin_data' },
      ],
    },
    1234,
  );
  assert.deepEqual(facts, {
    sizeBytes: 1234,
    durationMs: 8035,
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    tracks: [
      { kind: 'video', codec: 'h264', width: 960, height: 540 },
      { kind: 'audio', codec: 'aac', sampleRate: 48000, channels: 2 },
    ],
    encoder: 'Lavf59.27.100',
  });
});

test('without a container duration (a Matroska file cut short) the longest stream counts', () => {
  const facts = parseProbe({ format: { format_name: 'matroska,webm' }, streams: [{ codec_type: 'video', codec_name: 'vp8', duration: '4.5' }] }, 10);
  assert.equal(facts.durationMs, 4500);
  assert.equal(parseProbe({ streams: [] }, 0).durationMs, 0);
  assert.equal(parseProbe({ format: { tags: { ENCODER: 'Lavf59.27.100' } }, streams: [] }, 0).encoder, 'Lavf59.27.100', 'Matroska spells the tag in capitals');
  assert.equal(parseProbe({ streams: [] }, 0).encoder, undefined);
  assert.deepEqual(parseProbe({ streams: [{ codec_type: 'video', codec_name: 'vp8', width: 0 }] }, 1).tracks, [{ kind: 'video', codec: 'vp8' }]);
});

test('a background check runs at niceness 19 in CPU class idle: a core running only it counts as free for a start', () => {
  const line = prioritized('sh', ['-c', 'grep -E "^policy" /proc/self/sched; cut -d" " -f19 /proc/self/stat'], { nice: 19, ioIdle: true, cpuIdle: true });
  assert.equal(line.command, 'chrt');
  const out = spawnSync(line.command, line.args, { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const [policy, nice] = out.stdout.trim().split('\n');
  assert.match(policy ?? '', /^policy\s*:\s*5$/, 'SCHED_IDLE is policy 5');
  assert.equal(nice, '19');
});

test('without CPU class idle asked, the line is nice (and ionice) only', () => {
  const line = prioritized('ffmpeg', ['-i', 'f'], { nice: 10 });
  assert.deepEqual(line, { command: 'nice', args: ['-n', '10', 'ffmpeg', '-i', 'f'] });
});

test('a paused check is stopped (SIGSTOP) until its gate opens, then goes on (SIGCONT)', async () => {
  const pause = new PauseGate();
  pause.set(true);
  // sh waits for its sleep and then prints: stopped, it cannot print before it is continued
  const running = run('sh', ['-c', 'sleep 0.2; echo done'], 10_000, { nice: 0, pause });
  let ended = false;
  void running.then(() => (ended = true));
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(ended, false, 'still stopped');
  pause.set(false);
  const result = await running;
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), 'done');
});
