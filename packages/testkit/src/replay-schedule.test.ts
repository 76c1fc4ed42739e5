import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReplayMedia, type ReplayMediaSpec } from './replay-media.js';
import { AudioSchedule, VideoSchedule } from './replay-schedule.js';

function rtp(ts: number, payload: number[], size = 100): Buffer {
  const b = Buffer.alloc(12 + Math.max(size, payload.length));
  b[0] = 0x80;
  b.writeUInt32BE(ts >>> 0, 4);
  Buffer.from(payload).copy(b, 12);
  return b;
}

// 10 fps, 8 frames (0.8 s loop), keyframes at 0 and 4; frame 4 (a keyframe) is 3 packets
const spec: ReplayMediaSpec = { codec: 'h264', width: 2, height: 2, fps: 10, kbps: 100, keyframeSeconds: 0.4, seconds: 0.8 };
const video = Array.from({ length: 8 }, (_, i) => (i % 4 === 0 ? [0x65, 0] : [0x41, 0])).flatMap((p, i) =>
  i === 4 ? [rtp(i * 9000, p), rtp(i * 9000, [0x1c, 0x05]), rtp(i * 9000, [0x1c, 0x45])] : [rtp(i * 9000, p)],
);
const audio = Array.from({ length: 40 }, (_, i) => rtp(i * 960, [1, 2]));
const media = parseReplayMedia(spec, video, audio);
const header = (p: Buffer) => ({ seq: p.readUInt16BE(2), ts: p.readUInt32BE(4) });

test('video: timestamps and sequence numbers run on across loops and wrap like RTP', () => {
  const s = new VideoSchedule(media, { startFrame: 4, startAt: 0, pacingKbps: 0, firstSeq: 65_534, firstTs: 0xffff_ffff - 9000 });
  const out: Buffer[] = [];
  s.due(2000, (p) => out.push(p));
  // 2 s at 10 fps from frame 4: frames at 0, 100, ..., 2000 ms
  const frames = [...new Set(out.map((p) => header(p).ts))];
  assert.equal(frames.length, 21);
  for (let i = 1; i < frames.length; i++)
    assert.equal(((frames[i] as number) - (frames[i - 1] as number)) >>> 0, 9000, `frame ${i} is one frame time after the last`);
  out.forEach((p, i) => assert.equal(header(p).seq, (65_534 + i) & 0xffff));
  assert.equal(header(out[0] as Buffer).ts, 0xffff_ffff - 9000);
  // the original packets are left alone (the loop is shared by every publisher)
  assert.equal(video[4]?.readUInt32BE(4), 4 * 9000);
});

test('video: a keyframe request jumps to the next keyframe without a hole in the timestamps', () => {
  const s = new VideoSchedule(media, { startFrame: 0, startAt: 0, pacingKbps: 0, firstSeq: 0, firstTs: 1000 });
  const out: Buffer[] = [];
  s.due(100, (p) => out.push(p)); // frames 0 and 1
  s.requestKeyframe();
  s.due(200, (p) => out.push(p)); // frame 2 is skipped: keyframe 4 goes in its place
  assert.equal(s.jumps, 1);
  const ts = out.map((p) => header(p).ts);
  assert.deepEqual(ts, [1000, 10_000, 19_000, 19_000, 19_000]);
  assert.deepEqual(
    out.slice(2).map((p) => p[12]),
    [0x65, 0x1c, 0x1c],
    'the keyframe, all three packets',
  );
  // another request within 500 ms of the jump waits (one jump per 500 ms at most)
  s.requestKeyframe();
  s.due(500, () => undefined);
  assert.equal(s.jumps, 1);
  // a request while a keyframe is next costs nothing
  const t = new VideoSchedule(media, { startFrame: 0, startAt: 0, pacingKbps: 0, firstSeq: 0, firstTs: 0 });
  t.due(300, () => undefined);
  t.requestKeyframe();
  t.due(400, () => undefined);
  assert.equal(t.jumps, 0);
});

test('video: a phase shift cuts the first group of pictures short; a requested keyframe before the cut replaces it', () => {
  const keyframesAt = (s: VideoSchedule, until: number, request?: number) => {
    const at: number[] = [];
    for (let now = 0; now <= until; now += 10) {
      if (now === request) s.requestKeyframe();
      s.due(now, (p) => p[12] === 0x65 && at.push(now));
    }
    return at;
  };
  // keyframes every 400 ms in the file; shifted 100 ms earlier: the first at once, then 300, 700, 1100 ms
  const shifted = new VideoSchedule(media, { startFrame: 0, startAt: 0, pacingKbps: 0, firstSeq: 0, firstTs: 0, phaseShiftMs: 100 });
  assert.deepEqual(keyframesAt(shifted, 1200), [0, 300, 700, 1100]);
  assert.equal(shifted.jumps, 0, 'the shift is not counted as an answered keyframe request');
  // from the loop's last keyframe the next one is across the loop's end
  const wrapped = new VideoSchedule(media, { startFrame: 4, startAt: 0, pacingKbps: 0, firstSeq: 0, firstTs: 0, phaseShiftMs: 200 });
  assert.deepEqual(keyframesAt(wrapped, 1000), [0, 200, 600, 1000]);
  // a keyframe asked for at 100 ms sets the cadence from there: no extra one at the cut
  const asked = new VideoSchedule(media, { startFrame: 0, startAt: 0, pacingKbps: 0, firstSeq: 0, firstTs: 0, phaseShiftMs: 100 });
  assert.deepEqual(keyframesAt(asked, 1000, 100), [0, 100, 500, 900]);
  assert.equal(asked.jumps, 1);
});

test('video: the pacer spreads a frame over time at the rate asked', () => {
  // 3 packets of 112 bytes at 8.96 kbit/s: 100 ms each
  const s = new VideoSchedule(media, { startFrame: 4, startAt: 0, pacingKbps: 8.96, firstSeq: 0, firstTs: 0 });
  const sent: number[] = [];
  for (let now = 0; now <= 250; now += 10) s.due(now, () => sent.push(now));
  assert.deepEqual(sent, [0, 100, 200]);
});

test('audio: starts at the point of the loop that goes with the video frame, and runs on across loops', () => {
  const s = new AudioSchedule(media, 4, 0, 10, 5000);
  const out: Buffer[] = [];
  s.due(1000, (p) => out.push(p));
  // from 400 ms into the 0.8 s loop, 20 ms packets for 1 s: 51 of them
  assert.equal(out.length, 51);
  out.forEach((p, i) => {
    assert.equal(header(p).seq, 10 + i);
    assert.equal(header(p).ts, 5000 + 960 * i);
  });
});
