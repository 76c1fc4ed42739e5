import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startAv1RtpPublisher, startRtpPublisher, type RtpPublisher, type RtpPublisherOptions } from '@recstack/testkit';
import { audioTrack, delay, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';

const run = promisify(execFile);
let h: RecorderHarness;
const publishers: RtpPublisher[] = [];
/** video packets reach the recorder this much later than audio captured at the same instant */
const VIDEO_SEND_DELAY_MS = 600;
const MARKER_PERIOD_S = 2;

before(async () => {
  h = await startRecorderHarness();
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await h?.close();
});

/** Times (s) at which the video turns from dark to bright. */
async function flashOnsets(path: string): Promise<number[]> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-f', 'lavfi', '-i', `movie=${path},signalstats`, '-show_entries', 'frame=pts_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const frames = stdout
    .split('\n')
    .map((l) => l.split(',').map(Number))
    .filter((f): f is [number, number] => f.length === 2 && f.every(Number.isFinite));
  const onsets: number[] = [];
  for (let i = 1; i < frames.length; i++) {
    const [, before] = frames[i - 1] as [number, number];
    const [t, now] = frames[i] as [number, number];
    if (before < 64 && now > 128) onsets.push(t);
  }
  return onsets;
}

/** Times (s) at which the audio turns from silence to a tick (10 ms resolution). */
async function tickOnsets(path: string): Promise<number[]> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `amovie=${path},asetnsamples=n=480,astats=metadata=1:reset=1`,
      '-show_entries',
      'frame=pts_time:frame_tags=lavfi.astats.Overall.Peak_level',
      '-of',
      'csv=p=0',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const chunks = stdout
    .split('\n')
    .map((l) => l.split(',').map(Number))
    .filter((c): c is [number, number] => c.length === 2 && Number.isFinite(c[0]));
  const onsets: number[] = [];
  let quiet = 0;
  for (const [t, peak] of chunks) {
    const level = Number.isFinite(peak) ? peak : -200;
    if (level > -20 && quiet >= 10) onsets.push(t);
    quiet = level < -40 ? quiet + 1 : 0;
  }
  return onsets;
}

/**
 * Audio onset minus video onset (ms), for each flash paired with its nearest tick. The first seconds are
 * left out: until each stream's first sender report arrives (GStreamer's sender waits a randomized RTCP
 * interval), rtpbin can only place the streams by arrival.
 */
async function avOffsets(path: string): Promise<number[]> {
  const flashes = await flashOnsets(path);
  const ticks = await tickOnsets(path);
  assert.ok(flashes.length >= 2 && ticks.length >= 2, `markers found: flashes ${flashes.join(' ')}; ticks ${ticks.join(' ')}`);
  const first = flashes[0] ?? 0;
  return flashes
    .filter((t) => t > first + 3.5)
    .map((flash) => {
      const nearest = ticks.reduce((best, t) => (Math.abs(t - flash) < Math.abs(best - flash) ? t : best), Number.POSITIVE_INFINITY);
      return Math.round((nearest - flash) * 1000);
    });
}

async function recordMarkers(sendRtcp: boolean, codec: 'h264' | 'av1' = 'h264', sendDelayMs = VIDEO_SEND_DELAY_MS): Promise<string> {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack(codec, videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const options: RtpPublisherOptions = {
    video: { codec, port: videoPort, marker: true, sendDelayMs, keyframeInterval: 15, resolutions: [{ width: 320, height: 240 }] },
    audio: { port: audioPort, marker: true },
    markerPeriodSeconds: MARKER_PERIOD_S,
    sendRtcp,
  };
  const publisher = codec === 'av1' ? await startAv1RtpPublisher(options) : startRtpPublisher(options);
  publishers.push(publisher);
  await events.next('first-keyframe', 10_000);
  await delay(11_000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();
  assert.equal(report.status, 'done', JSON.stringify(report));
  return join(h.dir, report.fileName);
}

/**
 * The test publisher's own flash/tick skew (about −60 ms: its sources and encoders, not the recorder; the
 * recorder alone reads 0 ± 4 ms on exactly aligned markers, e2e/av-sync), measured by recording it with no
 * arrival delay, so the tests below see only what the 600 ms delay does.
 */
const baselines = new Map<'h264' | 'av1', Promise<number>>();
function baseline(codec: 'h264' | 'av1'): Promise<number> {
  let known = baselines.get(codec);
  if (!known) {
    known = recordMarkers(true, codec, 0)
      .then(avOffsets)
      .then((offsets) => {
        assert.ok(offsets.length >= 2, 'enough markers');
        console.log(`${codec} A/V offsets with no arrival delay (the publisher's own skew, ms): ${offsets.join(', ')}`);
        return median(offsets);
      });
    baselines.set(codec, known);
  }
  return known;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** what RTCP must hold: the 600 ms arrival delay moves no marker by more than this */
const MAX_SHIFT_MS = 30;

test('A/V sync from RTCP sender reports: video arriving 600 ms late moves no flash against its tick by more than 30 ms', async () => {
  const reference = await baseline('h264');
  assert.ok(Math.abs(reference) <= 100, `the publisher's own skew ${reference} ms`);
  const offsets = await avOffsets(await recordMarkers(true));
  console.log(`A/V offsets with RTCP, video 600 ms late (audio - video, ms): ${offsets.join(', ')}`);
  assert.ok(offsets.length >= 2, 'enough markers');
  for (const offset of offsets) assert.ok(Math.abs(offset - reference) <= MAX_SHIFT_MS, `offset ${offset} ms, ${reference} ms without the delay`);
});

test('control: without sender reports the same stream is placed by arrival time, ~600 ms apart (the check above can fail)', async () => {
  const reference = await baseline('h264');
  const offsets = await avOffsets(await recordMarkers(false));
  console.log(`A/V offsets without RTCP (audio - video, ms): ${offsets.join(', ')}`);
  assert.ok(offsets.length >= 2, 'enough markers');
  for (const offset of offsets) assert.ok(Math.abs(offset - reference) >= 300, `offset ${offset} ms`);
});

test('A/V sync holds for AV1, which the recorder depacketizes itself: video 600 ms late moves no marker by more than 30 ms', async () => {
  const reference = await baseline('av1');
  assert.ok(Math.abs(reference) <= 100, `the AV1 publisher's own skew ${reference} ms`);
  const offsets = await avOffsets(await recordMarkers(true, 'av1'));
  console.log(`AV1 A/V offsets with RTCP, video 600 ms late (audio - video, ms): ${offsets.join(', ')}`);
  assert.ok(offsets.length >= 2, 'enough markers');
  for (const offset of offsets) assert.ok(Math.abs(offset - reference) <= MAX_SHIFT_MS, `offset ${offset} ms, ${reference} ms without the delay`);
});
