import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, OutputAudioCodec } from '@recstack/contracts';
import {
  CHANGING_RESOLUTIONS,
  decodeErrors,
  firstVideoFrameIsKeyframe,
  probe,
  startRtpPublisher,
  type PublisherVideoCodec,
  type RtpPublisher,
} from '@recstack/testkit';
import { audioTrack, delay, frameSizes, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';

let h: RecorderHarness;
const publishers: RtpPublisher[] = [];

before(async () => {
  h = await startRecorderHarness();
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await h?.close();
});

interface Case {
  video?: PublisherVideoCodec;
  audio: boolean;
  container: Container;
  audioCodec: OutputAudioCodec | null;
  /** codec names ffprobe must find */
  expect: string[];
  formatName: RegExp;
  /** the publisher runs before the recorder listens, so the recorder joins in the middle of a GOP */
  publisherFirst?: boolean;
  changingResolution?: boolean;
}

/** Records about 4 s of the case and checks the file the way a user would. */
async function recordAndCheck(c: Case): Promise<void> {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const tracks = [...(c.video ? [videoTrack(c.video, videoPort, 96)] : []), ...(c.audio ? [audioTrack(audioPort)] : [])];
  const req = startRequest(tracks, c.container, c.audioCodec);
  const events = h.watch(req.recordingId);
  const startPublisher = () => {
    const publisher = startRtpPublisher({
      video: c.video
        ? {
            codec: c.video,
            port: videoPort,
            payloadType: 96,
            // a keyframe every 2 s: joining mid-GOP shows that nothing before the first keyframe is written
            keyframeInterval: 60,
            ...(c.changingResolution
              ? { resolutions: [...CHANGING_RESOLUTIONS], secondsPerStep: c.publisherFirst ? 2 : 1 }
              : { resolutions: [{ width: 320, height: 240 }] }),
          }
        : undefined,
      audio: c.audio ? { port: audioPort } : undefined,
    });
    publishers.push(publisher);
    return publisher;
  };
  let publisher: RtpPublisher | undefined;
  if (c.publisherFirst) {
    publisher = startPublisher();
    await delay(1000);
  }
  await h.start(req);
  publisher ??= startPublisher();
  await events.next('first-keyframe', 10_000);
  const recordingSince = Date.now();
  await delay(4000);
  // the publisher changes size by frame count: on a busy machine its encoder runs slower than real time
  if (c.changingResolution) await untilTwoSizesWritten(req.recordingId, 15_000);
  const report = await h.stop(req.recordingId);
  const recordedMs = Date.now() - recordingSince;
  await publisher.stop();

  const complaints = JSON.stringify(h.service.logs.filter((l) => l.recordingId === req.recordingId && (l.level === 'warn' || l.level === 'error')));
  assert.equal(report.status, 'done', `${JSON.stringify(report)} ${complaints}`);
  assert.equal((await events.verified()).fileCheck.decodesCleanly, true, complaints);
  assert.equal(report.fileName, `${req.recordingId}.${c.container}`);
  assert.ok(report.durationMs > 3000 && report.durationMs < recordedMs + 2500, `duration ${report.durationMs} of ${recordedMs} ms recorded`);
  const path = join(h.dir, report.fileName);
  const probed = await probe(path);
  assert.match(probed.formatName, c.formatName);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), [...c.expect].sort());
  assert.deepEqual(report.tracks.map((t) => t.codec).sort(), [...c.expect].sort());
  assert.equal(await decodeErrors(path), '');
  if (c.video) assert.equal(await firstVideoFrameIsKeyframe(path), true, 'the first video frame is a keyframe');
  const stats = report.stats;
  assert.ok(stats, "the report carries the file's stats");
  assert.ok(stats.framesWritten > 0 && stats.keyframesReceived >= 1, JSON.stringify(stats));
  // (ffprobe's csv ends some Matroska H264 frame lines with an empty side-data column: `320,180,`)
  const sizes = [...new Set((c.video ? await frameSizes(path) : []).map((size) => size.replace(/,+$/, '')))];
  // the keyframes-only reading finds the sizes a full decode finds (these publishers change at keyframes)
  assert.deepEqual([...new Set(stats.resolutionChanges.map((r) => `${r.width}x${r.height}`))], sizes, JSON.stringify(stats));
  if (c.changingResolution) assert.ok(sizes.length >= 2, `resolution changes recorded: ${sizes.join(', ')}`);
}

/** Waits until the file being written (whatever its intermediate name) holds frames of two sizes, or the time is up. */
async function untilTwoSizesWritten(recordingId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of (await readdir(h.dir)).filter((n) => n.startsWith(recordingId))) {
      // a file being written may end in a cut frame: ffprobe's complaint about it is not the point here
      const sizes = await frameSizes(join(h.dir, name)).catch(() => []);
      if (sizes.length >= 2) return;
    }
    await delay(500);
  }
}

test('VP8 + Opus → WebM (joining mid-GOP, resolution changes)', () =>
  recordAndCheck({
    video: 'vp8',
    audio: true,
    container: 'webm',
    audioCodec: 'opus',
    expect: ['vp8', 'opus'],
    formatName: /webm/,
    publisherFirst: true,
    changingResolution: true,
  }));

test('VP9 + Opus → WebM (joining mid-GOP, resolution changes)', () =>
  recordAndCheck({
    video: 'vp9',
    audio: true,
    container: 'webm',
    audioCodec: 'opus',
    expect: ['vp9', 'opus'],
    formatName: /webm/,
    publisherFirst: true,
    changingResolution: true,
  }));

test('VP9 + Opus → MP4 with AAC (written as Matroska, remuxed; resolution changes)', () =>
  recordAndCheck({ video: 'vp9', audio: true, container: 'mp4', audioCodec: 'aac', expect: ['vp9', 'aac'], formatName: /mp4/, changingResolution: true }));

test('H264 + Opus → MP4 with Opus copied (joining mid-GOP)', () =>
  recordAndCheck({ video: 'h264', audio: true, container: 'mp4', audioCodec: 'opus', expect: ['h264', 'opus'], formatName: /mp4/, publisherFirst: true }));

test('H264 + Opus → Matroska (written as MP4, remuxed; resolution changes)', () =>
  recordAndCheck({
    video: 'h264',
    audio: true,
    container: 'mkv',
    audioCodec: 'opus',
    expect: ['h264', 'opus'],
    formatName: /matroska/,
    changingResolution: true,
  }));

test('VP8 + Opus → Matroska with AAC', () =>
  recordAndCheck({ video: 'vp8', audio: true, container: 'mkv', audioCodec: 'aac', expect: ['vp8', 'aac'], formatName: /matroska/ }));

test('audio-only → MP4 with AAC', () => recordAndCheck({ audio: true, container: 'mp4', audioCodec: 'aac', expect: ['aac'], formatName: /mp4/ }));

test('audio-only → WebM with Opus', () => recordAndCheck({ audio: true, container: 'webm', audioCodec: 'opus', expect: ['opus'], formatName: /webm/ }));

test('video-only H264 → MP4 (joining mid-GOP)', () =>
  recordAndCheck({ video: 'h264', audio: false, container: 'mp4', audioCodec: null, expect: ['h264'], formatName: /mp4/, publisherFirst: true }));
