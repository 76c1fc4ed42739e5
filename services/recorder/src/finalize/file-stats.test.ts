import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dominantResolution, firstFrameDecodedAsKey, keyframeSizes, packetEntries, packetStats, resolutionChanges, splitSections } from './file-stats.js';
import { withStats, type FileFacts } from './file-probe.js';

test('packets: frames, keyframes and the longest gap, in time order whatever the file order (B-frames, reordering)', () => {
  const text = [
    'pts_time=0.100000|dts_time=0.100000|flags=K_',
    'pts_time=0.200000|dts_time=0.150000|flags=__',
    'pts_time=0.150000|dts_time=0.160000|flags=__',
    'pts_time=N/A|dts_time=0.700000|flags=__',
    'pts_time=1.000000|dts_time=1.000000|flags=K_',
    '',
  ].join('\n');
  const packets = packetEntries(text);
  assert.equal(packets.length, 5, 'a packet without pts is timed by its dts');
  const stats = packetStats(packets);
  assert.equal(stats.framesWritten, 5);
  assert.equal(stats.keyframesReceived, 2);
  assert.equal(stats.longestGapMs, 500);
  assert.equal(stats.startSec, 0.1);
  assert.equal(stats.endSec, 1);
  assert.deepEqual(packetStats([]), { framesWritten: 0, keyframesReceived: 0, longestGapMs: 0, startSec: 0, endSec: 0 });
});

test("resolution changes: the first keyframe's size, then each keyframe that differs, timed from the first frame", () => {
  const sizes = keyframeSizes(
    [
      'pts_time=0.114000|pkt_dts_time=0.114000|best_effort_timestamp_time=0.114000|width=320|height=180',
      'pts_time=0.564000|pkt_dts_time=0.564000|best_effort_timestamp_time=0.564000|width=320|height=180',
      'pts_time=N/A|pkt_dts_time=N/A|best_effort_timestamp_time=2.114000|width=640|height=360',
      'pts_time=3.114000|width=0|height=0',
      'pts_time=4.114000|width=1280|height=720',
    ].join('\n'),
  );
  assert.deepEqual(resolutionChanges(sizes, 0.114), [
    { atMs: 0, width: 320, height: 180 },
    { atMs: 2000, width: 640, height: 360 },
    { atMs: 4000, width: 1280, height: 720 },
  ]);
  assert.deepEqual(resolutionChanges([], 0), []);
});

test('the dominant resolution is the one the file shows longest, not the first', () => {
  const ramp = [
    { atMs: 0, width: 320, height: 180 },
    { atMs: 1000, width: 1280, height: 720 },
  ];
  assert.deepEqual(dominantResolution(ramp, 8000), { width: 1280, height: 720 });
  assert.deepEqual(dominantResolution(ramp, 1500), { width: 320, height: 180 });
  // back and forth: the durations of one resolution add up
  const flapping = [
    { atMs: 0, width: 640, height: 360 },
    { atMs: 1000, width: 1280, height: 720 },
    { atMs: 2500, width: 640, height: 360 },
    { atMs: 3000, width: 1280, height: 720 },
    { atMs: 3200, width: 640, height: 360 },
  ];
  assert.deepEqual(dominantResolution(flapping, 5000), { width: 640, height: 360 });
  assert.deepEqual(dominantResolution([{ atMs: 0, width: 640, height: 480 }], 0), { width: 640, height: 480 }, 'a single frame still has a resolution');
  assert.equal(dominantResolution([], 1000), undefined);
});

test('withStats: the video track takes the dominant resolution, audio is left alone; no stats leave the facts as they were', () => {
  const facts: FileFacts = {
    sizeBytes: 10,
    durationMs: 8000,
    formatName: 'mp4',
    encoder: undefined,
    tracks: [
      { kind: 'video', codec: 'h264', width: 320, height: 180 },
      { kind: 'audio', codec: 'aac', sampleRate: 48000, channels: 2 },
    ],
  };
  const stats = {
    framesWritten: 160,
    keyframesReceived: 2,
    longestGapMs: 60,
    resolutionChanges: [
      { atMs: 0, width: 320, height: 180 },
      { atMs: 900, width: 1280, height: 720 },
    ],
  };
  const joined = withStats(facts, { stats, dominant: { width: 1280, height: 720 } });
  assert.deepEqual(joined.tracks, [
    { kind: 'video', codec: 'h264', width: 1280, height: 720 },
    { kind: 'audio', codec: 'aac', sampleRate: 48000, channels: 2 },
  ]);
  assert.deepEqual(joined.stats, stats);
  assert.equal(withStats(facts, undefined), facts);
});

test('one ffprobe read holds packets and keyframes: the sections are told apart, the first-frame check reads both', () => {
  const text = [
    'packet|pts_time=0.000000|dts_time=0.000000|flags=K_',
    'frame|key_frame=1|pts_time=0.000000|pkt_dts_time=0.000000|best_effort_timestamp_time=0.000000|width=640|height=360|side_data|',
    'packet|pts_time=0.033333|dts_time=0.033333|flags=__',
    '',
  ].join('\n');
  const { packets, frames } = splitSections(text);
  assert.equal(packetEntries(packets).length, 2);
  assert.deepEqual(keyframeSizes(frames), [{ timeSec: 0, width: 640, height: 360 }]);
  assert.equal(firstFrameDecodedAsKey(packets, frames), true);
  // the first packet is not a keyframe: the decoder skipped it, its first frame comes from a later packet
  const cut = splitSections(
    [
      'packet|pts_time=0.033333|dts_time=0.033333|flags=__',
      'packet|pts_time=2.000000|dts_time=2.000000|flags=K_',
      'frame|key_frame=1|pts_time=2.000000|pkt_dts_time=2.000000|width=640|height=360',
    ].join('\n'),
  );
  assert.equal(firstFrameDecodedAsKey(cut.packets, cut.frames), false);
  // marked a keyframe but not decodable as one (no frame made from it)
  const undecodable = splitSections(
    [
      'packet|pts_time=0.000000|dts_time=0.000000|flags=K_',
      'packet|pts_time=2.000000|dts_time=2.000000|flags=K_',
      'frame|key_frame=1|pts_time=2.000000|pkt_dts_time=2.000000|width=640|height=360',
    ].join('\n'),
  );
  assert.equal(firstFrameDecodedAsKey(undecodable.packets, undecodable.frames), false);
  assert.equal(firstFrameDecodedAsKey('', ''), false);
});
