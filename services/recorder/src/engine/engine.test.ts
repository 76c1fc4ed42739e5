import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childLaunch, stopLadder, type EngineSettings } from './engine.js';
import { planRecording } from '../recording-plan.js';

const settings: EngineSettings = { gstLaunch: 'gst-launch-1.0', ffmpeg: 'ffmpeg', jitterLatencyMs: 200, rtpTimeoutMs: 10_000 };
const plan = (engine: 'gstreamer' | 'ffmpeg') =>
  planRecording(
    {
      recordingId: 'rec_1',
      sessionId: 'ses_1',
      container: 'mp4',
      audioCodec: 'aac',
      tracks: [{ kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, fmtp: 'packetization-mode=1', port: 50000 }],
    },
    { engine, recordingsDir: '/rec', bindAddress: '127.0.0.1', maxDurationMs: 60_000 },
  );

test('GStreamer stops with one EOS (SIGINT), then SIGTERM; the EOS wait may be shorter than a step', () => {
  const launch = childLaunch(plan('gstreamer'), settings);
  assert.deepEqual(stopLadder(launch, 10_000), [
    { action: 'SIGINT', waitMs: 10_000 },
    { action: 'SIGTERM', waitMs: 5000 },
  ]);
  assert.deepEqual(stopLadder(launch, 10_000, 2000), [
    { action: 'SIGINT', waitMs: 2000 },
    { action: 'SIGTERM', waitMs: 5000 },
  ]);
});

test('FFmpeg gets a second SIGINT after a second (it interrupts a read blocked on silent RTP), within the same wait', () => {
  const launch = childLaunch(plan('ffmpeg'), settings);
  assert.deepEqual(stopLadder(launch, 10_000), [
    { action: 'SIGINT', waitMs: 1000 },
    { action: 'SIGINT', waitMs: 9000 },
    { action: 'SIGTERM', waitMs: 5000 },
  ]);
  // never more than three signals: FFmpeg exits without its trailer on the fourth
  assert.ok(stopLadder(launch, 10_000).length <= 3);
  assert.deepEqual(stopLadder(launch, 800), [
    { action: 'SIGINT', waitMs: 800 },
    { action: 'SIGTERM', waitMs: 1000 },
  ]);
});
