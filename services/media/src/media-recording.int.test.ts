// The recording path of the media service with real GStreamer on the receiving side: a test stand-in
// for the recorder (testing/gst-recorder.ts) answers recorder.v1.* with gst-launch-1.0 pipelines bound
// to exactly the ports media asked for. Real nats-server, media process (Medooze) and Chromium.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { RecordingCatalog, markFailed, newRecording } from '@recstack/catalog';
import {
  CreateSessionReplySchema,
  RecordingReportSchema,
  StartRecordingReplySchema,
  subjects,
  type RecordingEvent,
  type SessionEvent,
} from '@recstack/contracts';
import { ServiceError, createLogger } from '@recstack/service-kit';
import { launchChromium, probe, type TestBrowser } from '@recstack/testkit';
import { GstRecorder, type GstRecorderOptions } from './testing/gst-recorder.js';
import { EventLog, metricValue, rawRequest, startMediaHarness, waitUntil, type MediaHarness } from './testing/media-harness.js';
import { Publisher, startPageServer, type PageServer } from './testing/publisher-page.js';

let h: MediaHarness;
let browser: TestBrowser;
let pages: PageServer;
let dir: string;
let recorderNc: NatsConnection;
let catalog: RecordingCatalog;
let recordingEvents: EventLog<RecordingEvent>;
let sessionEvents: EventLog<SessionEvent>;
let recorder: GstRecorder | undefined;
const publishers: Publisher[] = [];
let counter = 0;

before(async () => {
  // a lost recorder's recording does not wait for another recorder here (RECORDER_LOST_WAIT_SECONDS, 20 s by
  // default): the crash test below sees it end at once when none runs
  h = await startMediaHarness({
    RECORDER_CHECK_INTERVAL_SECONDS: '1',
    RECORDER_LOST_GRACE_SECONDS: '1',
    RECORDER_LOST_WAIT_SECONDS: '0',
    PORT_QUARANTINE_SECONDS: '300',
  });
  recorderNc = await connect({ servers: h.nats.url });
  catalog = await RecordingCatalog.open(h.nc, createLogger('test', 'silent'));
  recordingEvents = new EventLog<RecordingEvent>(h.nc, subjects.events.allRecordings);
  sessionEvents = new EventLog<SessionEvent>(h.nc, subjects.events.allSessions);
  dir = await mkdtemp(join(tmpdir(), 'media-rec-test-'));
  [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
});

afterEach(async () => {
  await recorder?.close();
  recorder = undefined;
  for (const p of publishers.splice(0)) await p.close();
});

after(async () => {
  recordingEvents?.close();
  sessionEvents?.close();
  await browser?.close();
  await pages?.close();
  await recorderNc?.close();
  await h?.stop();
  await rm(dir, { recursive: true, force: true });
});

function startRecorder(options: Partial<GstRecorderOptions> = {}): GstRecorder {
  recorder = new GstRecorder(recorderNc, { dir, ...options });
  return recorder;
}

async function publishedSession(videoCodec: 'h264' | 'vp8' = 'h264'): Promise<{ sessionId: string; publisher: Publisher }> {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec });
  publishers.push(publisher);
  const sessionId = `ses_rec${process.pid}x${++counter}`;
  const reply = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: publisher.offer });
  assert.equal(reply.ok, true, JSON.stringify(reply.error));
  await publisher.applyAnswer(CreateSessionReplySchema.parse(reply.result).answer);
  await publisher.waitConnected();
  return { sessionId, publisher };
}

async function catalogEntry(sessionId: string, container: 'mp4' | 'mkv' | 'webm' = 'mkv'): Promise<string> {
  const id = `rec_t${process.pid}x${++counter}`;
  await catalog.create(newRecording({ id, sessionId, mediaId: h.mediaId, container, audioCodec: 'opus', at: new Date() }));
  return id;
}

const start = (sessionId: string, recordingId: string) =>
  rawRequest(h.nc, subjects.media.startRecording(h.mediaId), { sessionId, recordingId, container: 'mkv' });
const stop = (sessionId: string, recordingId: string, timeoutMs = 30_000) =>
  rawRequest(h.nc, subjects.media.stopRecording(h.mediaId), { sessionId, recordingId, reason: 'requested' }, timeoutMs);
const portsInUse = async () => (await metricValue(h.opsUrl, 'media_recorder_ports_in_use')) ?? -1;
const counterValue = async (name: string, labels: Record<string, string> = {}) => (await metricValue(h.opsUrl, name, labels)) ?? 0;

test(
  'records Chromium H264 + Opus: ports, listening, streamer, keyframes until the first one is written, stop with the report',
  { timeout: 120_000 },
  async () => {
    const gst = startRecorder();
    const { sessionId } = await publishedSession('h264');
    const recordingId = await catalogEntry(sessionId);
    const keyframesBefore = await counterValue('media_keyframe_requests_total');

    const reply = await start(sessionId, recordingId);
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    const started = StartRecordingReplySchema.parse(reply.result);
    assert.equal(started.recorderId, gst.recorderId);
    assert.deepEqual(
      started.tracks.map((t) => `${t.kind}:${t.codec}`),
      ['video:h264', 'audio:opus'],
    );
    const ports = started.tracks.map((t) => t.port);
    for (const port of ports) {
      assert.equal(port % 2, 0, 'RTP ports are even');
      assert.ok(port >= h.recorderPorts.min && port + 1 <= h.recorderPorts.max, `port ${port} in the recorder range`);
    }
    assert.equal(new Set(ports).size, 2);
    assert.equal(await portsInUse(), 2);

    // what the recorder was asked for: the negotiated payload types, clock rates and H264 fmtp
    const asked = gst.startRequests[0];
    const video = asked?.tracks.find((t) => t.kind === 'video');
    const audio = asked?.tracks.find((t) => t.kind === 'audio');
    assert.equal(video?.clockRate, 90000);
    assert.match(video?.fmtp ?? '', /packetization-mode=1/);
    assert.match(video?.fmtp ?? '', /profile-level-id=[0-9a-f]{6}/);
    assert.deepEqual([audio?.codec, audio?.clockRate, audio?.channels], ['opus', 48000, 2]);

    // the catalog knows who records it
    const entry = await catalog.get(recordingId);
    assert.equal(entry?.recorderId, gst.recorderId);
    assert.equal(entry?.mediaId, h.mediaId);

    // keyframes are requested until the recorder reports the first one written, then no more
    await recordingEvents.waitFor(subjects.events.recording(recordingId), 'first-keyframe', 20_000);
    assert.ok((await counterValue('media_keyframe_requests_total')) > keyframesBefore, 'at least one keyframe request');
    await new Promise((r) => setTimeout(r, 300));
    const afterFirst = await counterValue('media_keyframe_requests_total');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await counterValue('media_keyframe_requests_total'), afterFirst, 'no keyframe requests after the first keyframe');

    // a second recording of the same session is refused
    const second = await start(sessionId, `${recordingId}b`);
    assert.equal(second.error?.code, 'ALREADY_RECORDING');

    await new Promise((r) => setTimeout(r, 3000));
    const stopped = await stop(sessionId, recordingId);
    assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
    const report = RecordingReportSchema.parse(stopped.result);
    assert.equal(report.status, 'done');
    assert.deepEqual(gst.stopRequests, [{ recordingId, reason: 'requested' }]);
    const probed = await probe(join(dir, report.fileName));
    assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:h264']);
    assert.ok(probed.durationSec > 2.5 && probed.durationSec < 8, `duration ${probed.durationSec}`);

    assert.equal(await portsInUse(), 0, 'ports released after the stop');
    assert.equal(await metricValue(h.opsUrl, 'media_recordings_active'), 0);
    // the same stop again answers with the same report
    const again = await stop(sessionId, recordingId);
    assert.deepEqual(again.result, stopped.result);
  },
);

test('PORT_IN_USE: media quarantines the ports and retries with others', { timeout: 90_000 }, async () => {
  let squatter: Socket | undefined;
  const gst = startRecorder({
    // the first request's video port is really taken, so its gst-launch fails to bind it
    beforeStart: async (req, attempt) => {
      if (attempt !== 1) return;
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(req.tracks[0]?.port ?? 0, '127.0.0.1', resolve));
      squatter = socket;
    },
  });
  try {
    const { sessionId } = await publishedSession('vp8');
    const recordingId = await catalogEntry(sessionId);
    const quarantinedBefore = await counterValue('media_recorder_ports_quarantined');
    const retriesBefore = await counterValue('media_recorder_start_retries_total', { code: 'PORT_IN_USE' });
    const reply = await start(sessionId, recordingId);
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    assert.equal(gst.startRequests.length, 2);
    const first = gst.startRequests[0]?.tracks.map((t) => t.port) ?? [];
    const second = gst.startRequests[1]?.tracks.map((t) => t.port) ?? [];
    assert.deepEqual(
      StartRecordingReplySchema.parse(reply.result).tracks.map((t) => t.port),
      second,
    );
    assert.equal(first.filter((p) => second.includes(p) || second.includes(p + 1) || second.includes(p - 1)).length, 0, 'other ports on the retry');
    assert.equal(await counterValue('media_recorder_start_retries_total', { code: 'PORT_IN_USE' }), retriesBefore + 1);
    assert.equal(await counterValue('media_recorder_ports_quarantined'), quarantinedBefore + 2);
    assert.equal(await portsInUse(), 2);
    const stopped = await stop(sessionId, recordingId);
    assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
    assert.equal(await portsInUse(), 0);
  } finally {
    squatter?.close();
  }
});

test('AT_CAPACITY is retried; when every attempt is refused the start fails with AT_CAPACITY and no port stays taken', { timeout: 90_000 }, async () => {
  const gst = startRecorder({
    beforeStart: (_req, attempt) => {
      if (attempt === 1 || attempt >= 3) throw new ServiceError('AT_CAPACITY', 'full');
    },
  });
  const { sessionId } = await publishedSession('vp8');
  const first = await catalogEntry(sessionId);
  const ok = await start(sessionId, first);
  assert.equal(ok.ok, true, JSON.stringify(ok.error));
  assert.equal(gst.startRequests.length, 2);
  assert.equal((await stop(sessionId, first)).ok, true);

  const second = await catalogEntry(sessionId);
  const refused = await start(sessionId, second);
  assert.equal(refused.error?.code, 'AT_CAPACITY');
  assert.equal(await portsInUse(), 0);
  assert.equal(await metricValue(h.opsUrl, 'media_recordings_active'), 0);
});

test(
  'INSUFFICIENT_STORAGE is retried like AT_CAPACITY (another recorder may have room); when every attempt is refused the start fails with INSUFFICIENT_STORAGE',
  { timeout: 90_000 },
  async () => {
    const gst = startRecorder({
      beforeStart: (_req, attempt) => {
        if (attempt === 1 || attempt >= 3)
          throw new ServiceError('INSUFFICIENT_STORAGE', 'this recorder has 10 MiB free for recordings, under its minimum of 1.0 GiB');
      },
    });
    const { sessionId } = await publishedSession('vp8');
    const first = await catalogEntry(sessionId);
    const ok = await start(sessionId, first);
    assert.equal(ok.ok, true, JSON.stringify(ok.error));
    assert.equal(gst.startRequests.length, 2);
    assert.equal((await stop(sessionId, first)).ok, true);

    const second = await catalogEntry(sessionId);
    const refused = await start(sessionId, second);
    assert.equal(refused.error?.code, 'INSUFFICIENT_STORAGE');
    assert.equal(await portsInUse(), 0);
    assert.equal(await metricValue(h.opsUrl, 'media_recordings_active'), 0);
  },
);

test('no recorder running: RECORDER_UNAVAILABLE, and no port stays taken', { timeout: 60_000 }, async () => {
  const { sessionId } = await publishedSession('vp8');
  const recordingId = await catalogEntry(sessionId);
  const reply = await start(sessionId, recordingId);
  assert.equal(reply.error?.code, 'RECORDER_UNAVAILABLE');
  assert.equal(await portsInUse(), 0);
  // the session can record once a recorder is there
  startRecorder();
  const later = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, later)).ok, true);
  assert.equal((await stop(sessionId, later)).ok, true);
  assert.equal(await portsInUse(), 0);
});

test('a recording the recorder finishes on its own releases its ports; a later stop still gets the report', { timeout: 90_000 }, async () => {
  const gst = startRecorder();
  const { sessionId } = await publishedSession('h264');
  const recordingId = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, recordingId)).ok, true);
  await new Promise((r) => setTimeout(r, 2000));
  const report = await gst.endOnItsOwn(recordingId, 'rtp-timeout');
  await waitUntil('ports released', async () => (await portsInUse()) === 0, 10_000);
  assert.equal(await metricValue(h.opsUrl, 'media_recordings_active'), 0);
  const late = await stop(sessionId, recordingId);
  assert.deepEqual(late.result, report);
  // and the session may record again
  const next = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, next)).ok, true);
  assert.equal((await stop(sessionId, next)).ok, true);
  assert.equal(await portsInUse(), 0);
});

test('the publisher leaving ends its recording (publisher-left, catalog stopping) and releases the ports', { timeout: 90_000 }, async () => {
  const gst = startRecorder();
  const { sessionId, publisher } = await publishedSession('h264');
  const recordingId = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, recordingId)).ok, true);
  await recordingEvents.waitFor(subjects.events.recording(recordingId), 'first-keyframe', 20_000);
  await new Promise((r) => setTimeout(r, 2000));
  await publisher.hangUp();
  const finished = await recordingEvents.waitFor(subjects.events.recording(recordingId), 'finished', 30_000);
  assert.equal(finished.type === 'finished' && finished.report.status, 'done');
  assert.deepEqual(gst.stopRequests, [{ recordingId, reason: 'publisher-left' }]);
  const stopping = await recordingEvents.waitFor(subjects.events.recording(recordingId), 'stopping');
  assert.equal(stopping.type === 'stopping' && stopping.reason, 'publisher-left');
  const entry = await catalog.get(recordingId);
  assert.equal(entry?.status, 'stopping');
  assert.equal(entry?.stopReason, 'publisher-left');
  const closed = await sessionEvents.waitFor(subjects.events.session(sessionId), 'closed');
  assert.equal(closed.type === 'closed' && closed.reason, 'publisher-left');
  await waitUntil('ports released', async () => (await portsInUse()) === 0, 10_000);
});

test('closing the session over NATS finalizes its recording and releases the ports', { timeout: 90_000 }, async () => {
  const gst = startRecorder();
  const { sessionId } = await publishedSession('vp8');
  const recordingId = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, recordingId)).ok, true);
  await new Promise((r) => setTimeout(r, 2000));
  const closed = await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
  assert.deepEqual(closed.result, { sessionId, closed: true });
  // the report is still available through recording.stop, after the session is gone
  const stopped = await stop(sessionId, recordingId);
  assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
  assert.equal(RecordingReportSchema.parse(stopped.result).status, 'done');
  assert.deepEqual(gst.stopRequests, [{ recordingId, reason: 'publisher-left' }]);
  assert.equal(await portsInUse(), 0);
});

test('a recorder that crashes (stops answering) ends its recordings: catalog failed, ports kept out of use', { timeout: 90_000 }, async () => {
  const gst = startRecorder();
  const { sessionId } = await publishedSession('vp8');
  const recordingId = await catalogEntry(sessionId);
  const quarantinedBefore = await counterValue('media_recorder_ports_quarantined');
  assert.equal((await start(sessionId, recordingId)).ok, true);
  await gst.crash();
  await waitUntil('the recording to end', async () => (await metricValue(h.opsUrl, 'media_recordings_active')) === 0, 15_000);
  assert.equal(await portsInUse(), 0);
  assert.equal(await counterValue('media_recorder_ports_quarantined'), quarantinedBefore + 2);
  // marked failed once RECORDER_LOST_GRACE_SECONDS passed without a recorder recovering it
  await waitUntil('the catalog entry to be failed', async () => (await catalog.get(recordingId))?.status === 'failed', 15_000);
  const entry = await catalog.get(recordingId);
  assert.equal(entry?.status, 'failed');
  assert.equal(entry?.error?.code, 'RECORDER_UNAVAILABLE');
  const late = await stop(sessionId, recordingId);
  assert.equal(late.error?.code, 'RECORDER_UNAVAILABLE');
  // the session is still there and can record with another recorder
  startRecorder();
  const next = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, next)).ok, true);
  assert.equal((await stop(sessionId, next)).ok, true);
});

test('a start the catalog already gave up on (signaling timed out, entry failed) is not recorded', { timeout: 60_000 }, async () => {
  const gst = startRecorder();
  const { sessionId } = await publishedSession('vp8');
  const recordingId = await catalogEntry(sessionId);
  await catalog.update(recordingId, (r) => markFailed(r, { code: 'TIMEOUT', message: 'media did not answer in time' }, new Date()));
  const reply = await start(sessionId, recordingId);
  assert.equal(reply.error?.code, 'CONFLICT');
  assert.deepEqual(gst.stopRequests, [{ recordingId, reason: 'error' }]);
  assert.deepEqual(gst.activeIds(), []);
  assert.equal(await portsInUse(), 0);
  // the session records normally afterwards
  const next = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, next)).ok, true);
  assert.equal((await stop(sessionId, next)).ok, true);
});

test('no local UDP port left for the Streamer: AT_CAPACITY, the recorder is told to stop, nothing stays taken', { timeout: 60_000 }, async () => {
  const gst = startRecorder();
  const { sessionId } = await publishedSession('vp8');
  const squatters: Socket[] = [];
  const min = Number(h.env.MEDIA_UDP_PORT_MIN);
  const max = Number(h.env.MEDIA_UDP_PORT_MAX);
  try {
    for (let port = min; port <= max; port++) {
      const socket = createSocket('udp4');
      const bound = await new Promise<boolean>((resolve) => {
        socket.once('error', () => resolve(false));
        socket.bind(port, '0.0.0.0', () => resolve(true));
      });
      if (bound) squatters.push(socket);
      else socket.close();
    }
    const recordingId = await catalogEntry(sessionId);
    const reply = await start(sessionId, recordingId);
    assert.equal(reply.error?.code, 'AT_CAPACITY', JSON.stringify(reply.error));
    assert.deepEqual(gst.stopRequests, [{ recordingId, reason: 'error' }]);
    assert.equal(await portsInUse(), 0);
  } finally {
    for (const socket of squatters) socket.close();
  }
  const next = await catalogEntry(sessionId);
  assert.equal((await start(sessionId, next)).ok, true);
  assert.equal((await stop(sessionId, next)).ok, true);
});

test(
  'a recorder naming an address outside RECORDER_ALLOWED_NETWORKS is refused before any Streamer exists; the recorder is told to stop',
  { timeout: 60_000 },
  async () => {
    // the stand-in listens on loopback but names a public address: media must not send there. The check runs
    // on the listening reply, before the Streamer is created, so nothing is ever sent to 8.8.8.8.
    const gst = startRecorder({ announcedHost: '8.8.8.8' });
    const { sessionId } = await publishedSession('vp8');
    const recordingId = await catalogEntry(sessionId);
    const reply = await start(sessionId, recordingId);
    assert.equal(reply.error?.code, 'RECORDER_FAILED', JSON.stringify(reply.error));
    assert.match(reply.error?.message ?? '', /8\.8\.8\.8.*RECORDER_ALLOWED_NETWORKS/);
    const refused = await h.media.waitForLog((l) => l.msg === 'recorder address refused' && l.recordingId === recordingId, 5000);
    assert.equal(refused.address, '8.8.8.8');
    assert.equal(refused.recorderId, gst.recorderId);
    assert.ok(!h.media.logs.some((l) => l.recordingId === recordingId && l.msg === 'recording started'), 'no forwarding started');
    assert.deepEqual(gst.stopRequests, [{ recordingId, reason: 'error' }]);
    assert.equal(await portsInUse(), 0);
  },
);

test('SIGTERM finalizes every active recording (reason shutdown) before media exits', { timeout: 120_000 }, async () => {
  const gst = startRecorder();
  const a = await publishedSession('h264');
  const b = await publishedSession('vp8');
  const ids = [await catalogEntry(a.sessionId), await catalogEntry(b.sessionId)];
  assert.equal((await start(a.sessionId, ids[0] ?? '')).ok, true);
  assert.equal((await start(b.sessionId, ids[1] ?? '')).ok, true);
  await new Promise((r) => setTimeout(r, 2500));
  const exit = await h.media.stop('SIGTERM', 30_000);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.deepEqual(
    gst.stopRequests.map((s) => s.reason),
    ['shutdown', 'shutdown'],
  );
  assert.deepEqual(
    gst.reports.map((r) => r.status),
    ['done', 'done'],
  );
  assert.deepEqual(gst.activeIds(), []);
  for (const id of ids) assert.equal((await catalog.get(id))?.stopReason, 'shutdown');
  await h.restartMedia();
});

/** Two fake recorders for a handover; the test closes them. Returns the one holding the recording first. */
async function twoRecordersAndARecording(): Promise<{
  held: GstRecorder;
  other: GstRecorder;
  sessionId: string;
  recordingId: string;
  close: () => Promise<void>;
}> {
  const a = new GstRecorder(recorderNc, { dir });
  const b = new GstRecorder(recorderNc, { dir });
  const { sessionId } = await publishedSession('vp8');
  const recordingId = await catalogEntry(sessionId);
  const started = await start(sessionId, recordingId);
  assert.equal(started.ok, true, JSON.stringify(started.error));
  const holderId = StartRecordingReplySchema.parse(started.result).recorderId;
  const [held, other] = holderId === a.recorderId ? [a, b] : [b, a];
  return { held, other, sessionId, recordingId, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

test(
  'a recorder that crashes while another runs: the recording is handed over (next segment, earlier one listed), the stop goes to the new recorder',
  { timeout: 90_000 },
  async () => {
    const { held, other, sessionId, recordingId, close } = await twoRecordersAndARecording();
    try {
      await held.crash();
      await waitUntil('the other recorder to get the next segment', () => other.startRequests.some((r) => r.recordingId === recordingId), 15_000);
      const next = other.startRequests.find((r) => r.recordingId === recordingId);
      assert.equal(next?.segment?.index, 1);
      assert.equal(next?.segment?.previous[0]?.recorderId, held.recorderId);
      assert.equal(next?.segment?.previous[0]?.file, `${recordingId}.mkv`);
      await waitUntil('the catalog to list the segments', async () => (await catalog.get(recordingId))?.segments?.length === 2, 10_000);
      const entry = await catalog.get(recordingId);
      assert.equal(entry?.recorderId, other.recorderId);
      assert.equal(entry?.status === 'failed', false, 'not failed');
      const stopped = await stop(sessionId, recordingId);
      assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
      assert.deepEqual(other.stopRequests, [{ recordingId, reason: 'requested' }]);
    } finally {
      await close();
    }
  },
);

test(
  'recorder.v1.draining: the recording starts on another recorder, then the draining one is told to finish its segment (handover: true)',
  { timeout: 90_000 },
  async () => {
    const { held, other, sessionId, recordingId, close } = await twoRecordersAndARecording();
    try {
      held.stopTakingStarts();
      h.nc.publish(subjects.recorder.draining, JSON.stringify({ recorderId: held.recorderId, recordingIds: [recordingId] }));
      await waitUntil('the draining recorder to be asked for its segment', () => held.stopRequests.length > 0, 15_000);
      assert.deepEqual(held.stopRequests, [{ recordingId, reason: 'shutdown', handover: true }]);
      assert.equal(other.startRequests.find((r) => r.recordingId === recordingId)?.segment?.index, 1, 'the new segment started first');
      const stopped = await stop(sessionId, recordingId);
      assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
      assert.deepEqual(other.stopRequests, [{ recordingId, reason: 'requested' }]);
    } finally {
      await close();
    }
  },
);
