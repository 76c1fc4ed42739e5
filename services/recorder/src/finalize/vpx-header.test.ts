// The VP8 and VP9 frame header parsers on the first bytes of real frames (libvpx through FFmpeg, written as
// IVF), against the sizes the encoder was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vp8FrameHeader, vp9FrameHeader } from './vpx-header.js';

const bytes = (hex: string) => Buffer.from(hex, 'hex');

test('VP8: a keyframe (tag bit 0, start code, 14-bit sizes) and an inter frame', () => {
  assert.deepEqual(vp8FrameHeader(bytes('1067009d012a4201b600000708858588')), { keyframe: true, size: { width: 322, height: 182 } });
  assert.deepEqual(vp8FrameHeader(bytes('d110000f11fc001ad7f7b7f6292124af')), { keyframe: false });
  assert.equal(vp8FrameHeader(bytes('1067009d012b4201b600')), undefined, 'a keyframe without the start code is not VP8');
  assert.equal(vp8FrameHeader(bytes('10')), undefined);
});

test('VP9 profile 0: keyframe size after the sync code and color config; inter frames are not keyframes', () => {
  assert.deepEqual(vp9FrameHeader(bytes('824983420014100b560638241c184a00')), { keyframe: true, size: { width: 322, height: 182 } });
  assert.deepEqual(vp9FrameHeader(bytes('86004092f121400000887f91f3be8dd1')), { keyframe: false });
});

test('VP9 profile 1 (4:4:4: subsampling bits in the color config) and profile 2 (10 bits: the bit depth flag)', () => {
  assert.deepEqual(vp9FrameHeader(bytes('a249834200050202d2c0c70483830942')), { keyframe: true, size: { width: 642, height: 362 } });
  assert.deepEqual(vp9FrameHeader(bytes('a6004092f121400400b67f91f33e8bb8')), { keyframe: false });
  assert.deepEqual(vp9FrameHeader(bytes('924983420004f802cb031c120e0c2c00')), { keyframe: true, size: { width: 160, height: 90 } });
});

test('VP9: show_existing_frame is not a keyframe; a wrong frame marker or sync code is not VP9', () => {
  // frame marker 2, profile 0, show_existing_frame 1, frame_to_show 0
  assert.deepEqual(vp9FrameHeader(bytes('88')), { keyframe: false });
  assert.equal(vp9FrameHeader(bytes('424983420014100b5606')), undefined, 'frame marker 1');
  assert.equal(vp9FrameHeader(bytes('824983430014100b5606')), undefined, 'sync code');
  assert.equal(vp9FrameHeader(bytes('8249')), undefined, 'cut short');
});
