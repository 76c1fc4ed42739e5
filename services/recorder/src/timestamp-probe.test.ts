import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEncoderRate, parseFramecrc, rescale } from './timestamp-probe.js';
import { retimeArgs } from './timestamp-retime.js';

const FRAMECRC = `#extradata 0:        7, 0x0a6402f7
#software: Lavf59.27.100
#tb 0: 1/10000
#media_type 0: video
#codec_id 0: h264
#dimensions 0: 320x180
#sar 0: 1/1
0,          0,          0,      490,     1182, 0x1ebe4eeb
0,        490,        490,      510,      492, 0x25a5e1af, F=0x0
0,       1000,       1000,      500,      533, 0x4cf8ff70, F=0x0
`;

test('parseFramecrc: the time base and the presentation times in decode order', () => {
  assert.deepEqual(parseFramecrc(FRAMECRC), { timeBase: [1, 10000], pts: [0, 490, 1000], reordered: false, untimed: false });
});

test('parseFramecrc: B-frames (dts ≠ pts) and packets without a timestamp are flagged, a missing time base is no listing', () => {
  const reordered = parseFramecrc('#tb 0: 1/90000\n0, -3000, 0, 3000, 10, 0x1\n0, 0, 6000, 3000, 10, 0x2\n');
  assert.equal(reordered?.reordered, true);
  // framecrc prints AV_NOPTS_VALUE as the number it is
  const untimed = parseFramecrc('#tb 0: 1/1000\n0, -9223372036854775808, -9223372036854775808, 33, 10, 0x1\n0, 33, 33, 33, 10, 0x2\n');
  assert.equal(untimed?.untimed, true);
  assert.deepEqual(untimed?.pts, [33]);
  assert.equal(parseFramecrc('0, 0, 0, 1, 1, 0x1\n'), undefined);
});

test('rescale rounds like av_rescale_q: to nearest, halves away from zero', () => {
  assert.equal(rescale(490, [1, 10000], 90_000), 4410);
  assert.equal(rescale(1, [1, 12000], 90_000), 8); // 7.5 → 8
  assert.equal(rescale(-1, [1, 12000], 90_000), -8);
  assert.equal(rescale(33, [1, 1000], 90_000), 2970);
  assert.equal(rescale(2 ** 40, [1, 90_000], 90_000), 2 ** 40);
});

test("parseEncoderRate reads the null output's encoder time base (tbn), in FFmpeg's spellings", () => {
  const line = (rate: string) =>
    `Output #0, null, to 'pipe:':\n  Stream #0:0(und): Video: wrapped_avframe, yuv420p(tv, smpte170m, progressive), 320x180 [SAR 1:1 DAR 16:9], q=2-31, 200 kb/s, ${rate} fps, ${rate} tbn (default)\n`;
  assert.equal(parseEncoderRate(line('60')), 60);
  assert.equal(parseEncoderRate(line('62.50')), 62.5);
  assert.equal(parseEncoderRate(line('1k')), 1000);
  assert.equal(parseEncoderRate('  Stream #0:0[0x1](und): Video: h264 (avc3 / 0x33637661), yuv420p, 640x360, 24 kb/s, 30 fps, 30 tbr, 12k tbn (default)\n'), undefined, 'the input stream line is not the answer');
  assert.equal(parseEncoderRate(''), undefined);
});

test('retimeArgs: a stream copy with the timestamp filter; MP4 at 90 kHz with the index at the front, Matroska as is', () => {
  const lattice = { unitsPerSecond: 90_000, step: 1500 };
  const mp4 = retimeArgs('/in.mp4', '/out.mp4', 'mp4', lattice, false);
  assert.deepEqual(mp4.slice(0, 8), ['-nostdin', '-v', 'error', '-i', '/in.mp4', '-map', '0', '-c']);
  assert.equal(mp4[mp4.indexOf('-bsf:v') + 1]?.startsWith('setts=ts=st(1\\,'), true);
  assert.deepEqual(mp4.slice(-8), ['-video_track_timescale', '90000', '-movflags', '+faststart', '-f', 'mp4', '-y', '/out.mp4']);
  const tick = retimeArgs('/in.mp4', '/out.mp4', 'mp4', lattice, true);
  assert.match(tick[tick.indexOf('-bsf:v') + 1] ?? '', /^h264_metadata=tick_rate=180000\/1500,setts=ts=/);
  const webm = retimeArgs('/in.webm', '/out.webm', 'webm', { unitsPerSecond: 1000, step: 10 }, false);
  assert.deepEqual(webm.slice(-4), ['-f', 'webm', '-y', '/out.webm']);
  assert.ok(!webm.includes('-video_track_timescale') && !webm.includes('-movflags'));
  assert.deepEqual(retimeArgs('/a.mp4', '/b.mkv', 'mkv', { unitsPerSecond: 1000, step: 10 }, false).slice(-4), ['-f', 'matroska', '-y', '/b.mkv']);
});
