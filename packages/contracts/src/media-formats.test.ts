import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOutputFormat, containersFor, mimeType } from './media-formats.js';

test('defaults: H264 goes to MP4 with AAC, VP8 and VP9 to WebM with Opus, AV1 to MP4', () => {
  assert.deepEqual(resolveOutputFormat({ video: 'h264', audio: 'opus' }), { ok: true, format: { container: 'mp4', audioCodec: 'aac' } });
  assert.deepEqual(resolveOutputFormat({ video: 'vp8', audio: 'opus' }), { ok: true, format: { container: 'webm', audioCodec: 'opus' } });
  assert.deepEqual(resolveOutputFormat({ video: 'vp9', audio: 'opus' }), { ok: true, format: { container: 'webm', audioCodec: 'opus' } });
  assert.deepEqual(resolveOutputFormat({ video: 'av1', audio: 'opus' }), { ok: true, format: { container: 'mp4', audioCodec: 'aac' } });
});

test('audio-only and video-only publishers get a format', () => {
  assert.deepEqual(resolveOutputFormat({ audio: 'opus' }), { ok: true, format: { container: 'mp4', audioCodec: 'aac' } });
  assert.deepEqual(resolveOutputFormat({ video: 'vp8' }), { ok: true, format: { container: 'webm', audioCodec: undefined } });
});

test('explicit choices are honoured when the container can hold them', () => {
  assert.deepEqual(resolveOutputFormat({ video: 'h264', audio: 'opus', container: 'mkv' }), { ok: true, format: { container: 'mkv', audioCodec: 'opus' } });
  assert.deepEqual(resolveOutputFormat({ video: 'h264', audio: 'opus', audioCodec: 'opus' }), { ok: true, format: { container: 'mp4', audioCodec: 'opus' } });
  assert.deepEqual(resolveOutputFormat({ video: 'vp9', audio: 'opus', container: 'mp4' }), { ok: true, format: { container: 'mp4', audioCodec: 'aac' } });
});

test('impossible combinations are refused with a reason in words', () => {
  const h264InWebm = resolveOutputFormat({ video: 'h264', audio: 'opus', container: 'webm' });
  assert.equal(h264InWebm.ok, false);
  assert.match(!h264InWebm.ok ? h264InWebm.message : '', /H264 video cannot be written to webm; use mp4 or mkv/);
  const vp8InMp4 = resolveOutputFormat({ video: 'vp8', container: 'mp4' });
  assert.equal(vp8InMp4.ok, false);
  const aacInWebm = resolveOutputFormat({ video: 'vp8', audio: 'opus', container: 'webm', audioCodec: 'aac' });
  assert.equal(aacInWebm.ok, false);
  assert.match(!aacInWebm.ok ? aacInWebm.message : '', /aac audio cannot be written to webm/);
  assert.equal(resolveOutputFormat({ video: 'vp8', audioCodec: 'aac' }).ok, false);
  assert.equal(resolveOutputFormat({}).ok, false);
});

test('containersFor and mimeType', () => {
  assert.deepEqual(containersFor('vp8'), ['webm', 'mkv']);
  assert.deepEqual(containersFor('av1'), ['mp4', 'webm', 'mkv']);
  assert.equal(mimeType('mp4', true), 'video/mp4');
  assert.equal(mimeType('webm', false), 'audio/webm');
});
