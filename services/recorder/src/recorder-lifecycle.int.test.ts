import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RemoteError } from '@recstack/service-kit';
import { decodeErrors, firstVideoFrameIsKeyframe, probe, startRtpPublisher, type RtpPublisher } from '@recstack/testkit';
import {
  audioTrack,
  childPid,
  delay,
  processAlive,
  rtpPorts,
  startRecorderHarness,
  startRequest,
  topLevelBoxes,
  videoSpanMs,
  videoTrack,
  type RecorderHarness,
} from './testing/recorder-harness.js';

const publishers: RtpPublisher[] = [];
const harnesses: RecorderHarness[] = [];

after(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await Promise.all(harnesses.map((h) => h.close()));
});

async function harness(env: Record<string, string>): Promise<RecorderHarness> {
  const h = await startRecorderHarness(env);
  harnesses.push(h);
  return h;
}

test('MAX_RECORDINGS: one more start gets AT_CAPACITY; SIGTERM finalizes all three running recordings before exit', async () => {
  const h = await harness({ MAX_RECORDINGS: '3', SHUTDOWN_TIMEOUT_SECONDS: '40' });
  const recordings = [];
  for (let i = 0; i < 3; i++) {
    const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
    const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
    await h.createEntry(req.recordingId, 'mp4', 'aac');
    const events = h.watch(req.recordingId);
    await h.start(req);
    const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort, resolutions: [{ width: 320, height: 180 }] }, audio: { port: audioPort } });
    publishers.push(publisher);
    recordings.push({ req, events, publisher });
  }
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const refused = await h.start(startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac')).catch((err: unknown) => err);
  assert.ok(refused instanceof RemoteError && refused.code === 'AT_CAPACITY', String(refused));
  const [pong] = await h.ping();
  assert.equal(pong?.active, 3);
  assert.equal(pong?.capacity, 3);

  await Promise.all(recordings.map((r) => r.events.next('first-keyframe', 15_000)));
  await delay(4000);
  const pids = await Promise.all(recordings.map((r) => childPid(h, r.req.recordingId)));
  const exit = await h.service.stop('SIGTERM', 45_000);
  assert.equal(exit.code, 0, h.service.output().split('\n').slice(-20).join('\n'));
  for (const pid of pids) assert.equal(await processAlive(pid), false, 'no recording child outlives the service');

  for (const { req, events } of recordings) {
    const finished = await events.next('finished', 1000);
    assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
    assert.equal(finished.report.reason, 'shutdown');
    // verification is forgotten at shutdown: the file is checked here instead
    assert.equal(finished.report.decodeCheck, 'pending');
    assert.ok(finished.report.durationMs > 3000, `duration ${finished.report.durationMs}`);
    const path = join(h.dir, finished.report.fileName);
    assert.equal(await decodeErrors(path), '');
    assert.equal(await firstVideoFrameIsKeyframe(path), true);
    const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
    assert.equal(entry.stopReason, 'shutdown');
  }
});

test('kill -9 of the whole recorder (service and child): the MP4 on disk plays, missing at most 2 s', async () => {
  const h = await harness({});
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('h264', videoPort), audioTrack(audioPort)], 'mp4', 'aac');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec: 'h264', port: videoPort }, audio: { port: audioPort } });
  publishers.push(publisher);
  await events.next('first-keyframe', 10_000);
  const firstKeyframeAt = Date.now();
  await delay(7000);
  const pid = await childPid(h, req.recordingId);
  // nobody is left to salvage anything: what is on disk is what the user gets
  process.kill(pid, 'SIGKILL');
  await h.service.stop('SIGKILL');
  const recordedMs = Date.now() - firstKeyframeAt;
  await publisher.stop();

  const path = join(h.dir, `${req.recordingId}.mp4`);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  const keptMs = await videoSpanMs(path);
  const lostMs = recordedMs - keptMs;
  console.log(`kill -9 of recorder and child after ${recordedMs} ms of video: ${keptMs} ms playable, ${lostMs} ms lost`);
  assert.ok(lostMs <= 2000, `at most 2 s lost, lost ${lostMs} ms`);
  // robust muxing keeps the index in space reserved at the front
  const boxes = await topLevelBoxes(path);
  assert.ok(boxes.indexOf('moov') >= 0 && boxes.indexOf('moov') < boxes.indexOf('mdat'), boxes.join(' '));
});

test('a recording that reaches RECORDER_MAX_DURATION_SECONDS is finalized on its own (max-duration)', async () => {
  const h = await harness({ RECORDER_MAX_DURATION_SECONDS: '4' });
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('vp8', videoPort), audioTrack(audioPort)], 'webm', 'opus');
  await h.createEntry(req.recordingId, 'webm', 'opus');
  const events = h.watch(req.recordingId);
  await h.start(req);
  const publisher = startRtpPublisher({ video: { codec: 'vp8', port: videoPort }, audio: { port: audioPort } });
  publishers.push(publisher);
  const stopping = await events.next('stopping', 15_000);
  assert.equal(stopping.reason, 'max-duration');
  const finished = await events.next('finished', 15_000);
  await publisher.stop();
  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report));
  assert.equal(finished.report.reason, 'max-duration');
  assert.ok(finished.report.durationMs > 2500 && finished.report.durationMs <= 4500, `duration ${finished.report.durationMs}`);
  const entry = await h.entryWhen(req.recordingId, (r) => r.status === 'done');
  assert.equal(entry.stopReason, 'max-duration');
});
