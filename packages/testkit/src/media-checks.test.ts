import { test } from 'node:test';
import assert from 'node:assert/strict';
import { damagedStretches } from './media-checks.js';

const frame = (n: number, t: number, key: boolean) =>
  `[info] [Parsed_showinfo_0 @ 0x55] n:${n} pts:${Math.round(t * 90000)} pts_time:${t} duration:3000 pos:1 fmt:yuv420p sar:1/1 s:640x360 i:P iskey:${key ? 1 : 0} type:${key ? 'I' : 'P'} checksum:0`;

test('damaged stretches: from a frame with errors to the next clean keyframe; clean files have none', () => {
  const clean = [
    frame(0, 0, true),
    '[h264 @ 0x1] [debug] nal_unit_type: 1(Coded slice of a non-IDR picture)',
    frame(1, 0.033, false),
    frame(2, 0.066, false),
  ].join('\n');
  assert.deepEqual(damagedStretches(clean), { longestMs: 0, atSec: 0, damagedFrames: 0, errorLines: 0 });

  const log = [
    frame(0, 0, true),
    frame(1, 1, false),
    '[h264 @ 0x1] [error] error while decoding MB 3 4, bytestream -7',
    '[h264 @ 0x1] [debug] Frame num gap 72 70',
    frame(2, 2, false),
    frame(3, 2.5, false),
    '[warning] in.mp4: corrupt decoded frame in stream 0',
    frame(4, 3, true), // a keyframe that itself lost data does not end the damage
    frame(5, 3.2, false),
    frame(6, 3.7, true),
    frame(7, 4, false),
    '[vp8 @ 0x2] [error] corrupt frame',
    frame(8, 5, false),
    frame(9, 5.5, false),
  ].join('\n');
  const d = damagedStretches(log);
  assert.equal(d.longestMs, 1700, 'from 2.0 s to the clean keyframe at 3.7 s');
  assert.equal(d.atSec, 2);
  assert.equal(d.errorLines, 4);
  assert.equal(d.damagedFrames, 4 + 2, 'frames 2-5, then 8-9 up to the end of the file');
});
