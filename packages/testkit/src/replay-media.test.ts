import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReplayMedia, startsKeyframe, type ReplayMediaSpec } from './replay-media.js';

function rtp(ts: number, payload: number[]): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt32BE(ts >>> 0, 4);
  Buffer.from(payload).copy(b, 12);
  return b;
}

test('keyframes are told from the first packet of a frame, per codec', () => {
  assert.equal(startsKeyframe('h264', rtp(0, [0x67, 0x42])), true, 'SPS');
  assert.equal(startsKeyframe('h264', rtp(0, [0x18, 0x00, 0x02, 0x67, 0x42])), true, 'STAP-A with an SPS');
  assert.equal(startsKeyframe('h264', rtp(0, [0x7c, 0x85])), true, 'FU-A start of an IDR');
  assert.equal(startsKeyframe('h264', rtp(0, [0x7c, 0x81])), false, 'FU-A start of a non-IDR slice');
  assert.equal(startsKeyframe('h264', rtp(0, [0x41, 0x9a])), false);
  // VP8: S bit, partition 0; picture id (X, I, 15-bit); then the frame header's P bit clear
  assert.equal(startsKeyframe('vp8', rtp(0, [0x90, 0x80, 0x80, 0x01, 0x10])), true);
  assert.equal(startsKeyframe('vp8', rtp(0, [0x90, 0x80, 0x80, 0x01, 0x11])), false);
  // VP9: B set, P clear
  assert.equal(startsKeyframe('vp9', rtp(0, [0x88, 0x00])), true);
  assert.equal(startsKeyframe('vp9', rtp(0, [0xc8, 0x00])), false);
});

test('packets group into frames; the loop lasts as many frame times as it has frames', () => {
  const spec: ReplayMediaSpec = { codec: 'h264', width: 2, height: 2, fps: 30, kbps: 1, keyframeSeconds: 1, seconds: 1 };
  const base = 0xffff_f000; // the timestamps wrap inside the file
  const video = [rtp(base, [0x67, 0]), rtp(base, [0x65, 0]), rtp(base + 3000, [0x41, 0]), rtp(base + 6000, [0x65, 0]), rtp(base + 9000, [0x41, 0])];
  const audio = [rtp(7, [1]), rtp(967, [1])];
  const m = parseReplayMedia(spec, video, audio);
  assert.deepEqual(
    m.video.map((f) => [f.ts, f.keyframe, f.packets.length]),
    [
      [0, true, 2],
      [3000, false, 1],
      [6000, true, 1],
      [9000, false, 1],
    ],
  );
  assert.deepEqual(m.keyframes, [0, 2]);
  assert.equal(m.videoLoopTicks, 12_000);
  assert.deepEqual(
    m.audio.map((a) => a.ts),
    [0, 960],
  );
  assert.equal(m.audioLoopTicks, 1920);
  assert.throws(() => parseReplayMedia(spec, video.slice(2), audio), /does not start with a keyframe/);
});
