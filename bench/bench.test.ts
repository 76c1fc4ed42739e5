// Unit tests of the benchmark's pure parts (run: node --conditions=development --import tsx --test bench/*.test.ts)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABLATIONS, CANDIDATES, COST_CANDIDATES, aacEncoder, prerollTap, tapWithQueue, withMuxQueues, withoutRtpbin, withoutTaps } from './ablations.js';
import { parseProcStat, parseVmHwm, percentile } from '@recstack/testkit';
import { ours } from './subjects.js';

const ports = { video: 40_000, audio: 40_002 };

test('parseProcStat reads utime+stime and cutime+cstime after a command name with spaces and parentheses', () => {
  const line = '1234 (gst-launch (1) x) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 50 30 20 20 0 4 0 100 0 0';
  assert.deepEqual(parseProcStat(line, 100), { self: 3, children: 0.5 });
});

test('parseVmHwm reads the peak RSS in bytes, and nothing from a zombie', () => {
  assert.equal(parseVmHwm('Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t   2048 kB\n'), 2048 * 1024);
  assert.equal(parseVmHwm('Name:\tx\nState:\tZ (zombie)\n'), undefined);
});

test('percentile is nearest-rank', () => {
  assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test("the ablation rewrites change what they say on the recorder builder's own argv", () => {
  const args = ours('gstreamer', 'aac').launch(ports, '/tmp/x').args;
  const text = (a: string[]) => a.join(' ');
  assert.match(text(args), /tee name=video_tee/);
  assert.doesNotMatch(text(withoutTaps(args)), /tee|identity|fakesink|multifilesink/);
  assert.match(text(withoutTaps(args)), /alignment=au ! mux\.video_0 rtpbin\./);
  const jb = text(withoutRtpbin(args));
  assert.doesNotMatch(jb, /rtpbin|rtcp_/);
  assert.match(jb, /! rtpjitterbuffer name=jb0 latency=\d+ .* jb0\. ! rtph264depay/);
  assert.equal(text(aacEncoder('avenc_aac')(args)).match(/avenc_aac/g)?.length, 1);
  assert.doesNotMatch(text(aacEncoder('avenc_aac')(args)), /voaacenc/);
  for (const a of [...ABLATIONS, ...CANDIDATES, ...COST_CANDIDATES]) assert.ok(Array.isArray(a.rewrite(args)), a.id);
});

test('the thread ablations put back the queues the recorder had before 2026-12-01', () => {
  const args = ours('gstreamer', 'aac').launch(ports, '/tmp/x').args;
  const text = (a: string[]) => a.join(' ');
  const old = text(tapWithQueue(withMuxQueues(args)));
  assert.match(
    old,
    /tee name=video_tee ! queue ! mux\.video_0 video_tee\. ! queue leaky=downstream max-size-buffers=30 ! identity drop-buffer-flags=delta-unit/,
  );
  assert.match(old, /aacparse ! queue ! mux\.audio_0/);
  assert.equal(text(withMuxQueues(withMuxQueues(args))), text(withMuxQueues(args)), 'a queue is put back once');
});

test('the preroll tap replaces a printing identity tap (the pipeline before the recorder dropped -v)', () => {
  const args = [
    '-e',
    '-v',
    '-m',
    'x.',
    '!',
    'identity',
    'name=keyframes_video',
    'drop-buffer-flags=delta-unit',
    'silent=false',
    '!',
    'fakesink',
    'sync=false',
    'async=false',
    'y',
  ];
  assert.deepEqual(prerollTap(args), [
    '-e',
    '-m',
    'x.',
    '!',
    'identity',
    'drop-buffer-flags=delta-unit',
    '!',
    'fakesink',
    'name=keyframes_video',
    'sync=false',
    'async=true',
    'y',
  ]);
});
