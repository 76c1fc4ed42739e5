// Media with the real recorder service: nats-server, the recorder and media as real processes,
// Chromium publishing over NATS. The files are checked the way a user would: ffprobe, a full decode,
// the first video frame a keyframe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingCatalog, newRecording } from '@recstack/catalog';
import { CreateSessionReplySchema, RecordingReportSchema, StartRecordingReplySchema, subjects, type RecordingEvent } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import {
  decodeErrors,
  firstVideoFrameIsKeyframe,
  freeTcpPort,
  launchChromium,
  probe,
  startService,
  type ServiceProcess,
  type TestBrowser,
} from '@recstack/testkit';
import { EventLog, metricValue, rawRequest, startMediaHarness, waitUntil, type MediaHarness } from './testing/media-harness.js';
import { Publisher, startPageServer, type PageServer } from './testing/publisher-page.js';

let h: MediaHarness;
let recorder: ServiceProcess;
let recordingsDir: string;
let browser: TestBrowser;
let pages: PageServer;
let catalog: RecordingCatalog;
let events: EventLog<RecordingEvent>;
let counter = 0;

before(async () => {
  h = await startMediaHarness();
  recordingsDir = await mkdtemp(join(tmpdir(), 'media-real-recorder-'));
  recorder = await startService('recorder', { NATS_URL: h.nats.url, RECORDINGS_DIR: recordingsDir, OPS_PORT: String(await freeTcpPort()) });
  catalog = await RecordingCatalog.open(h.nc, createLogger('test', 'silent'));
  events = new EventLog<RecordingEvent>(h.nc, subjects.events.allRecordings);
  [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
});

after(async () => {
  events?.close();
  await browser?.close();
  await pages?.close();
  await recorder?.stop('SIGTERM', 30_000);
  await h?.stop();
  if (!process.env.KEEP_RECORDINGS) await rm(recordingsDir, { recursive: true, force: true });
  else console.log('recordings kept in', recordingsDir);
});

async function record(videoCodec: 'h264' | 'vp8', container: 'mp4' | 'webm', seconds: number) {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec });
  const sessionId = `ses_real${process.pid}x${++counter}`;
  const created = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: publisher.offer });
  assert.equal(created.ok, true, JSON.stringify(created.error));
  await publisher.applyAnswer(CreateSessionReplySchema.parse(created.result).answer);
  await publisher.waitConnected();

  const recordingId = `rec_real${process.pid}x${++counter}`;
  await catalog.create(newRecording({ id: recordingId, sessionId, mediaId: h.mediaId, container, audioCodec: null, at: new Date() }));
  const startedReply = await rawRequest(h.nc, subjects.media.startRecording(h.mediaId), { sessionId, recordingId, container }, 30_000);
  assert.equal(startedReply.ok, true, JSON.stringify(startedReply.error));
  const started = StartRecordingReplySchema.parse(startedReply.result);
  await events.waitFor(subjects.events.recording(recordingId), 'first-keyframe', 20_000);
  // the recorder publishes the event and writes the catalog side by side: the entry follows within moments
  await waitUntil('the catalog entry to say recording', async () => (await catalog.get(recordingId))?.status === 'recording', 5000);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const stopped = await rawRequest(h.nc, subjects.media.stopRecording(h.mediaId), { sessionId, recordingId, reason: 'requested' }, 60_000);
  assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
  const report = RecordingReportSchema.parse(stopped.result);
  await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
  await publisher.close();
  return { recordingId, started, report };
}

test('the real recorder cannot bind a port (PORT_IN_USE): media retries with other ports and records', { timeout: 180_000 }, async () => {
  // a fresh media instance hands out its range from the bottom: the first video port is RECORDER_PORT_MIN
  const first = h.recorderPorts.min + (h.recorderPorts.min % 2);
  const squatter = createSocket('udp4');
  await new Promise<void>((resolve) => squatter.bind(first, '127.0.0.1', resolve));
  try {
    const { started, report } = await record('vp8', 'webm', 3);
    assert.equal(report.status, 'done', JSON.stringify(report.error));
    assert.ok(!started.tracks.some((t) => t.port === first), 'the taken port was not used');
    assert.equal(await metricValue(h.opsUrl, 'media_recorder_start_retries_total', { code: 'PORT_IN_USE' }), 1);
  } finally {
    squatter.close();
  }
});

test('Chromium H264 + Opus → media → the real recorder: a playable MP4 whose first frame is a keyframe', { timeout: 180_000 }, async () => {
  const { recordingId, started, report } = await record('h264', 'mp4', 6);
  assert.equal(report.status, 'done', JSON.stringify(report.error));
  assert.equal(report.recorderId, started.recorderId);
  const path = join(recordingsDir, report.fileName);
  assert.equal((await stat(path)).size, report.sizeBytes);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:aac', 'video:h264']);
  assert.ok(Math.abs(probed.durationSec - 6) <= 1.5, `duration ${probed.durationSec}`);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);

  const entry = await catalog.get(recordingId);
  assert.equal(entry?.status, 'done');
  assert.equal(entry?.recorderId, started.recorderId);
  assert.equal(entry?.mediaId, h.mediaId);
  assert.ok(entry?.startedAt);
  await waitUntil('ports released', async () => (await metricValue(h.opsUrl, 'media_recorder_ports_in_use')) === 0, 5000);
});

test('Chromium VP8 + Opus → the real recorder: a playable WebM', { timeout: 180_000 }, async () => {
  const { report } = await record('vp8', 'webm', 4);
  assert.equal(report.status, 'done', JSON.stringify(report.error));
  const path = join(recordingsDir, report.fileName);
  const probed = await probe(path);
  assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:vp8']);
  assert.ok(Math.abs(probed.durationSec - 4) <= 1.5, `duration ${probed.durationSec}`);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  assert.equal(await metricValue(h.opsUrl, 'media_recorder_ports_in_use'), 0);
});

test('the publisher hanging up mid-recording: the real recorder finalizes the file, the catalog says publisher-left', { timeout: 180_000 }, async () => {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'h264' });
  const sessionId = `ses_real${process.pid}x${++counter}`;
  const created = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: publisher.offer });
  assert.equal(created.ok, true, JSON.stringify(created.error));
  await publisher.applyAnswer(CreateSessionReplySchema.parse(created.result).answer);
  await publisher.waitConnected();
  const recordingId = `rec_real${process.pid}x${++counter}`;
  await catalog.create(newRecording({ id: recordingId, sessionId, mediaId: h.mediaId, container: 'mp4', audioCodec: null, at: new Date() }));
  assert.equal((await rawRequest(h.nc, subjects.media.startRecording(h.mediaId), { sessionId, recordingId }, 30_000)).ok, true);
  await events.waitFor(subjects.events.recording(recordingId), 'first-keyframe', 20_000);
  await new Promise((r) => setTimeout(r, 4000));
  await publisher.hangUp();
  const finished = await events.waitFor(subjects.events.recording(recordingId), 'finished', 60_000);
  assert.ok(finished.type === 'finished');
  assert.equal(finished.report.status, 'done', JSON.stringify(finished.report.error));
  await waitUntil('the catalog to be final', async () => (await catalog.get(recordingId))?.status === 'done', 10_000);
  const entry = await catalog.get(recordingId);
  assert.equal(entry?.stopReason, 'publisher-left');
  const path = join(recordingsDir, finished.report.fileName);
  assert.equal(await decodeErrors(path), '');
  assert.equal(await firstVideoFrameIsKeyframe(path), true);
  assert.ok(Math.abs((await probe(path)).durationSec - 4) <= 1.5);
  await waitUntil('ports released', async () => (await metricValue(h.opsUrl, 'media_recorder_ports_in_use')) === 0, 5000);
  await publisher.close();
});
