import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RemoteError } from '@recstack/service-kit';
import { decodeErrors, firstVideoFrameIsKeyframe, probe, startRtpPublisher, type RtpPublisher } from '@recstack/testkit';
import type { RecorderStartRequest } from '@recstack/contracts';
import {
  audioTrack,
  childPid,
  delay,
  rtpPorts,
  startRecorderHarness,
  startRequest,
  topLevelBoxes,
  videoSpanMs,
  videoTrack,
  type EventLog,
  type RecorderHarness,
} from './testing/recorder-harness.js';

let h: RecorderHarness;
const publishers: RtpPublisher[] = [];

before(async () => {
  h = await startRecorderHarness({ RECORDER_ENGINE: 'ffmpeg', RECORDER_RTP_TIMEOUT: '4' });
});

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await h?.close();
});

function publish(videoPort: number | undefined, audioPort: number | undefined, codec: 'h264' | 'vp8' = 'h264'): RtpPublisher {
  const publisher = startRtpPublisher({
    video: videoPort === undefined ? undefined : { codec, port: videoPort, payloadType: 96, keyframeInterval: 60 },
    audio: audioPort === undefined ? undefined : { port: audioPort },
  });
  publishers.push(publisher);
  return publisher;
}

/** An H264 + Opus → MP4 (AAC) recording on `harness`, its publisher sending, its first keyframe written. */
async function recordingH264(harness: RecorderHarness): Promise<{ req: RecorderStartRequest; events: EventLog; publisher: RtpPublisher }> {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  const events = harness.watch(req.recordingId);
  await harness.start(req);
  const publisher = publish(videoPort, audioPort);
  await events.next('first-keyframe', 10_000);
  return { req, events, publisher };
}

test('FFmpeg engine: H264 + Opus → MP4 with AAC over the same NATS contract', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  await h.createEntry(req.recordingId, 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  // the publisher runs first: FFmpeg must drop what comes before the first keyframe
  const publisher = publish(videoPort, audioPort);
  await delay(1000);
  const listening = await h.start(req);
  assert.equal(listening.engine, 'ffmpeg');
  await events.next('first-keyframe', 10_000);
  await h.entryWhen(req.recordingId, (r) => r.status === 'recording');
  await delay(5000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.ok(report.durationMs > 4000 && report.durationMs < 8000, `duration ${report.durationMs}`);
  const path = join(h.dir, report.fileName);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  const boxes = await topLevelBoxes(path);
  assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `index at the front: ${boxes.join(' ')}`);
  assert.equal(await decodeErrors(path), '');
  assert.equal(report.decodeCheck, 'pending', 'the report does not wait for the decode');
  assert.deepEqual((await events.verified()).fileCheck, { decodesCleanly: true, scope: 'full' });
  await h.entryWhen(req.recordingId, (r) => r.status === 'done');
});

test('FFmpeg engine: VP8 + Opus → WebM', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('vp8', videoPort), audioTrack(audioPort)], 'webm', 'opus');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = publish(videoPort, audioPort, 'vp8');
  await events.next('first-keyframe', 10_000);
  await delay(4000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal((await events.verified()).fileCheck.decodesCleanly, true);
  const path = join(h.dir, report.fileName);
  assert.deepEqual((await probe(path)).streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
});

test('FFmpeg engine: audio-only → MP4', async () => {
  const [audioPort = 0] = await rtpPorts(1);
  const req = startRequest([audioTrack(audioPort)], 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = publish(undefined, audioPort);
  await events.next('first-keyframe', 10_000);
  await delay(3000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();
  assert.equal(report.status, 'done', JSON.stringify(report));
  assert.equal((await events.verified()).fileCheck.decodesCleanly, true);
  assert.deepEqual(
    report.tracks.map((t) => t.codec),
    ['aac'],
  );
});

test('FFmpeg engine: RTP that stops ends the recording (rtp-timeout)', async () => {
  const { events, publisher } = await recordingH264(h);
  await delay(3000);
  await publisher.stop();
  const finished = await events.next('finished', 30_000);
  assert.equal(finished.report.reason, 'rtp-timeout');
  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
  assert.ok(finished.report.durationMs > 2000);
});

test('FFmpeg engine: kill -9 of ffmpeg leaves a playable file (fragmented MP4, salvaged)', async () => {
  const { req, events, publisher } = await recordingH264(h);
  const firstKeyframeAt = Date.now();
  await delay(6000);
  process.kill(await childPid(h, req.recordingId), 'SIGKILL');
  const recordedMs = Date.now() - firstKeyframeAt;
  const finished = await events.next('finished', 30_000);
  await publisher.stop();
  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
  assert.equal(finished.report.reason, 'error');
  const path = join(h.dir, finished.report.fileName);
  const keptMs = await videoSpanMs(path);
  console.log(`FFmpeg engine, kill -9 after ${recordedMs} ms of video: ${keptMs} ms kept, ${recordedMs - keptMs} ms lost`);
  assert.ok(recordedMs - keptMs <= 2500, `lost ${recordedMs - keptMs} ms`);
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
});

test('FFmpeg engine: AV1 is refused with UNSUPPORTED_CODEC before anything starts (FFmpeg 5.1 has no AV1 RTP depacketizer)', async () => {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const refused = await h.start(startRequest([videoTrack('av1', videoPort), audioTrack(audioPort)], 'mp4', 'aac')).catch((err: unknown) => err);
  assert.ok(refused instanceof RemoteError, String(refused));
  assert.equal(refused.code, 'UNSUPPORTED_CODEC');
  assert.match(refused.message, /AV1/);
  const [pong] = await h.ping();
  assert.equal(pong?.active, 0);
});

test('FFmpeg engine: a stop after RTP has stopped ends at once, not at the RTP timeout (a second SIGINT interrupts the blocked read)', async () => {
  // an RTP timeout far longer than the stop's allowance: a stop that waits for it cannot pass
  const slow = await startRecorderHarness({ RECORDER_ENGINE: 'ffmpeg', RECORDER_RTP_TIMEOUT: '40', RECORDER_STOP_TIMEOUT: '60' });
  try {
    const { req, publisher } = await recordingH264(slow);
    await delay(3000);
    await publisher.stop();
    await delay(500);
    const report = await slow.stop(req.recordingId, 'requested', 20_000);
    assert.equal(report.status, 'done', JSON.stringify(report));
    assert.equal(report.reason, 'requested');
    assert.equal(await decodeErrors(join(slow.dir, report.fileName)), '');
    assert.equal(await firstVideoFrameIsKeyframe(join(slow.dir, report.fileName)), true);
  } finally {
    await slow.close();
  }
});
