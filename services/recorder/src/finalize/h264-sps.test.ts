// The SPS parser on parameter sets taken from real encoders' streams (libx264 through FFmpeg, x264enc through
// GStreamer), each against the size ffprobe reported for that stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAvcC, spsFrameSize, unescapeNal } from './h264-sps.js';

const sps = (hex: string) => spsFrameSize(Buffer.from(hex, 'hex'));

test('constrained baseline, 640x360: 23 macroblock rows cropped by 8 lines', () => {
  assert.deepEqual(sps('6742c01eda0280bfe5c044000003000400000300c83c58ba80'), { width: 640, height: 360 });
  assert.deepEqual(sps('6742c00bda0b13b011000003000100000300320f142aa0'), { width: 176, height: 144 });
});

test('main profile, interlaced 1920x1080 (frame_mbs_only 0: map units are field pairs, cropping in 2-line units)', () => {
  assert.deepEqual(sps('674d4028f403c0227ef011000003000100000300321f162ea0'), { width: 1920, height: 1080 });
});

test('high profiles: chroma format and bit depths read before the sizes (4:2:0, 4:2:2, 4:4:4 with odd cropping)', () => {
  assert.deepEqual(sps('6764001facd9405005bb011000000300100000030320f1831960'), { width: 1280, height: 720 });
  assert.deepEqual(sps('677a001fbcb402802dd808800000030080000019078c1950'), { width: 1280, height: 720 });
  // 4:4:4: cropping in single samples, 322x182 from 21x12 macroblocks
  assert.deepEqual(sps('67f4000d919681519e3e2f011000000300100000030320f142aa'), { width: 322, height: 182 });
  // x264enc as the recorder's GStreamer tests run it
  assert.deepEqual(sps('67f4000d90d9640507ec05a8303032000003000200000300791e285490'), { width: 320, height: 240 });
});

test('not an SPS, or cut short: no size', () => {
  assert.equal(sps('68ce3c80'), undefined, 'a PPS');
  assert.equal(sps('6742c01eda02'), undefined, 'cut in the middle');
  assert.equal(sps(''), undefined);
});

test('emulation prevention bytes are dropped before the bits are read', () => {
  assert.deepEqual([...unescapeNal(Buffer.from('0000030100000300', 'hex'))], [0, 0, 1, 0, 0, 0]);
});

test('avcC: NAL length size, SPS and PPS', () => {
  const spsBytes = '6742c01eda0280bfe5c044000003000400000300c83c58ba80';
  const record = Buffer.from(`0142c01effe1${(spsBytes.length / 2).toString(16).padStart(4, '0')}${spsBytes}01000468ce3c80`, 'hex');
  const parsed = parseAvcC(record);
  assert.equal(parsed?.lengthSize, 4);
  assert.equal(Buffer.from(parsed?.sps[0] ?? []).toString('hex'), spsBytes);
  assert.equal(Buffer.from(parsed?.pps[0] ?? []).toString('hex'), '68ce3c80');
  // avc3 with the parameter sets in-band only: an avcC with none
  assert.deepEqual(parseAvcC(Buffer.from('0164001effe000', 'hex')), { lengthSize: 4, sps: [], pps: [] });
  assert.equal(parseAvcC(Buffer.from('0164001effe1', 'hex')), undefined, 'cut short');
});
