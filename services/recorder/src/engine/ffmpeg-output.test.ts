import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FfmpegOutputParser } from './ffmpeg-output.js';

test('the first counted video frame is the first keyframe, once', () => {
  const p = new FfmpegOutputParser(true);
  assert.deepEqual(p.parse('frame=0', 'stdout'), []);
  assert.deepEqual(p.parse('out_time_us=100000', 'stdout'), []);
  assert.deepEqual(p.parse('frame=12', 'stdout'), [{ type: 'keyframe', track: 'video' }]);
  assert.deepEqual(p.parse('frame=24', 'stdout'), []);
  assert.deepEqual(p.parse('progress=continue', 'stdout'), []);
  assert.deepEqual(p.parse('progress=end', 'stdout'), [{ type: 'eos' }]);
});

test('audio-only recordings count output time', () => {
  const p = new FfmpegOutputParser(false);
  assert.deepEqual(p.parse('frame=0', 'stdout'), []);
  assert.deepEqual(p.parse('out_time_us=0', 'stdout'), []);
  assert.deepEqual(p.parse('out_time_us=20000', 'stdout'), [{ type: 'keyframe', track: 'audio' }]);
});

test('bind failures, RTP timeouts and fatal errors from stderr; decoder noise is not fatal', () => {
  const p = new FfmpegOutputParser(true);
  assert.deepEqual(p.parse('[udp @ 0x55d0e1] [error] bind failed: Address already in use', 'stderr'), [{ type: 'port-in-use' }]);
  assert.deepEqual(p.parse('pipe:: Connection timed out', 'stderr'), [{ type: 'rtp-timeout' }]);
  assert.deepEqual(p.parse('[h264 @ 0x55ad] [error] non-existing PPS 0 referenced', 'stderr'), []);
  assert.deepEqual(p.parse('[mp4 @ 0x55ad] [fatal] Could not write header', 'stderr'), [{ type: 'error', message: 'Could not write header' }]);
});
