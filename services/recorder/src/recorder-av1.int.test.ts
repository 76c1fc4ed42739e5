import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Container, OutputAudioCodec } from '@recstack/contracts';
import { decodeErrors, firstVideoFrameIsKeyframe, probe, startAv1RtpPublisher, type Resolution, type RtpPublisher } from '@recstack/testkit';
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

async function recordAv1(
  container: Container,
  audioCodec: OutputAudioCodec,
  options: { publisherFirst?: boolean; resolutions?: Resolution[]; secondsPerStep?: number } = {},
) {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack('av1', videoPort), audioTrack(audioPort)], container, audioCodec);
  const events = h.watch(req.recordingId);
  const publish = () =>
    startAv1RtpPublisher({
      // libaom is slow: a small picture keeps the test publisher real-time on a shared machine
      video: {
        codec: 'av1',
        port: videoPort,
        fps: 15,
        keyframeInterval: 30,
        bitrateKbps: 300,
        resolutions: options.resolutions ?? [{ width: 320, height: 180 }],
        secondsPerStep: options.secondsPerStep ?? 1.5,
      },
      audio: { port: audioPort },
    });
  let publisher: RtpPublisher | undefined;
  if (options.publisherFirst) {
    publisher = await publish();
    publishers.push(publisher);
    await delay(1000);
  }
  await h.start(req);
  if (!publisher) {
    publisher = await publish();
    publishers.push(publisher);
  }
  await events.next('first-keyframe', 15_000);
  await delay(5000);
  const report = await h.stop(req.recordingId);
  await publisher.stop();
  const complaints = JSON.stringify(h.service.logs.filter((l) => l.recordingId === req.recordingId && (l.level === 'warn' || l.level === 'error')));
  assert.equal(report.status, 'done', `${JSON.stringify(report)} ${complaints}`);
  assert.equal((await events.verified()).fileCheck.decodesCleanly, true, complaints);
  const path = join(h.dir, report.fileName);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => s.codec_name).sort(), ['av1', audioCodec].sort());
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  assert.ok(report.durationMs > 3500, `duration ${report.durationMs}`);
  return { report, path };
}

test('AV1 + Opus → MP4 (AAC), resolution changes (written as Matroska, remuxed): depacketized by the recorder', async () => {
  const { path } = await recordAv1('mp4', 'aac', {
    resolutions: [
      { width: 320, height: 180 },
      { width: 480, height: 270 },
    ],
  });
  assert.ok((await frameSizes(path)).length >= 2);
});

test('AV1 + Opus → WebM, joining mid-GOP with resolution changes', async () => {
  const { path } = await recordAv1('webm', 'opus', {
    publisherFirst: true,
    // joins at ~1 s, the first keyframe comes at 2 s, the change at 3 s
    secondsPerStep: 3,
    resolutions: [
      { width: 320, height: 180 },
      { width: 480, height: 270 },
    ],
  });
  assert.ok((await frameSizes(path)).length >= 2);
});
