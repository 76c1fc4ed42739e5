// Several Medooze endpoints in one media process, and media's own ingest capacity: real nats-server, the
// media service as a real process, headless Chromium publishers, and GStreamer recording what media forwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { RecordingCatalog, newRecording } from '@recstack/catalog';
import { CreateSessionReplySchema, RecordingReportSchema, rpc, subjects, type RecordingEvent } from '@recstack/contracts';
import { createLogger, gather } from '@recstack/service-kit';
import { launchChromium, probe, type TestBrowser } from '@recstack/testkit';
import { GstRecorder } from './testing/gst-recorder.js';
import { EventLog, metricValue, rawRequest, startMediaHarness, waitUntil, type MediaHarness } from './testing/media-harness.js';
import { Publisher, startPageServer, type PageServer } from './testing/publisher-page.js';

let h: MediaHarness;
let browser: TestBrowser;
let pages: PageServer;
let dir: string;
let recorderNc: NatsConnection;
let catalog: RecordingCatalog;
let recordingEvents: EventLog<RecordingEvent>;
const publishers: Publisher[] = [];
let counter = 0;

before(async () => {
  h = await startMediaHarness({ MEDIA_ENDPOINTS: '2', MAX_SESSIONS: '4' });
  recorderNc = await connect({ servers: h.nats.url });
  catalog = await RecordingCatalog.open(h.nc, createLogger('test', 'silent'));
  recordingEvents = new EventLog<RecordingEvent>(h.nc, subjects.events.allRecordings);
  dir = await mkdtemp(join(tmpdir(), 'media-endpoints-test-'));
  [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
});

after(async () => {
  recordingEvents?.close();
  for (const p of publishers.splice(0)) await p.close();
  await browser?.close();
  await pages?.close();
  await recorderNc?.close();
  await h?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** the port of the host candidate media answered with: the endpoint the session was placed on */
const candidatePort = (answer: string) => Number(/^a=candidate:\S+ 1 udp \d+ \S+ (\d+) typ host/im.exec(answer)?.[1]);

async function createSession(): Promise<{ sessionId: string; publisher: Publisher; port: number }> {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'h264' });
  publishers.push(publisher);
  const sessionId = `ses_ep${process.pid}x${++counter}`;
  const reply = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: publisher.offer });
  assert.equal(reply.ok, true, JSON.stringify(reply.error));
  const { answer } = CreateSessionReplySchema.parse(reply.result);
  await publisher.applyAnswer(answer);
  await publisher.waitConnected();
  return { sessionId, publisher, port: candidatePort(answer) };
}

async function catalogEntry(sessionId: string): Promise<string> {
  const id = `rec_ep${process.pid}x${++counter}`;
  await catalog.create(newRecording({ id, sessionId, mediaId: h.mediaId, container: 'mkv', audioCodec: 'opus', at: new Date() }));
  return id;
}

const pong = async () => {
  const pongs = await gather(h.nc, rpc.media.ping, {}, 1000);
  const mine = pongs.find((p) => p.mediaId === h.mediaId);
  assert.ok(mine, 'media answers the ping');
  return mine;
};

test('two publishers land on two endpoints (two UDP ports), both connect, and both are recorded', { timeout: 180_000 }, async () => {
  const gst = new GstRecorder(recorderNc, { dir });
  try {
    const a = await createSession();
    const b = await createSession();
    assert.ok(a.port > 0 && b.port > 0, 'each answer has a host candidate');
    assert.notEqual(a.port, b.port, 'the second publisher goes to the other endpoint');
    for (const port of [a.port, b.port]) {
      assert.ok(port >= Number(h.env.MEDIA_UDP_PORT_MIN) && port <= Number(h.env.MEDIA_UDP_PORT_MAX), `port ${port} in MEDIA_UDP_PORT_MIN..MAX`);
      assert.equal(await metricValue(h.opsUrl, 'media_endpoint_sessions', { port: String(port) }), 1);
      // the kernel's drop counter of each endpoint socket is exported (its value depends on the host)
      assert.ok((await metricValue(h.opsUrl, 'media_udp_receive_drops', { port: String(port) })) !== undefined, `drops of ${port}`);
    }

    const recordings = await Promise.all(
      [a, b].map(async (s) => {
        const recordingId = await catalogEntry(s.sessionId);
        const reply = await rawRequest(h.nc, subjects.media.startRecording(h.mediaId), { sessionId: s.sessionId, recordingId, container: 'mkv' });
        assert.equal(reply.ok, true, JSON.stringify(reply.error));
        return { ...s, recordingId };
      }),
    );
    for (const r of recordings) {
      await recordingEvents.waitFor(subjects.events.recording(r.recordingId), 'first-keyframe', 30_000);
      await waitUntil(
        `loss series of ${r.recordingId}`,
        async () => (await metricValue(h.opsUrl, 'media_recording_packets_lost', { recording_id: r.recordingId, kind: 'video' })) !== undefined,
        10_000,
      );
    }
    // the pong reports the measured ingest once two samples saw both sessions
    await waitUntil('ingest measured', async () => ((await pong()).packetsPerSecond ?? 0) > 0, 15_000);
    const p = await pong();
    assert.equal(p.endpoints, 2);
    assert.equal(p.accepting, true);
    assert.equal(p.sessions, 2);
    assert.ok((p.load ?? 0) >= 0.5, `load ${p.load} at 2 of 4 sessions`);
    assert.ok(p.udpDrops !== undefined && p.udpDrops >= 0);
    await new Promise((r) => setTimeout(r, 2000));

    for (const r of recordings) {
      const stopped = await rawRequest(
        h.nc,
        subjects.media.stopRecording(h.mediaId),
        { sessionId: r.sessionId, recordingId: r.recordingId, reason: 'requested' },
        30_000,
      );
      assert.equal(stopped.ok, true, JSON.stringify(stopped.error));
      const report = RecordingReportSchema.parse(stopped.result);
      assert.equal(report.status, 'done');
      const probed = await probe(join(dir, report.fileName));
      assert.deepEqual(probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ['audio:opus', 'video:h264']);
      assert.ok(probed.durationSec > 1.5, `duration ${probed.durationSec}`);
    }
  } finally {
    await gst.close();
    for (const p of publishers.splice(0)) await p.close();
  }
});

test('beyond MEDIA_MAX_PPS media refuses a new session with AT_CAPACITY, and says so in its pong', { timeout: 120_000 }, async () => {
  await h.media.stop('SIGTERM', 30_000);
  // one Chromium publisher sends well above 50 packets/s (30 fps video, 50 Opus packets/s)
  await h.restartMedia({ MEDIA_MAX_PPS: '50' });
  await createSession();
  await waitUntil('the publisher measured', async () => ((await pong()).packetsPerSecond ?? 0) > 50, 20_000);
  const p = await pong();
  assert.equal(p.maxPacketsPerSecond, 50);
  assert.ok((p.load ?? 0) > 1, `load ${p.load}`);

  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
  publishers.push(publisher);
  const refused = await rawRequest(h.nc, subjects.media.createSession, { sessionId: `ses_ep${process.pid}full`, offer: publisher.offer });
  assert.equal(refused.ok, false);
  assert.equal(refused.error?.code, 'AT_CAPACITY');
  assert.match(refused.error?.message ?? '', /packets\/s/);
  assert.equal(await metricValue(h.opsUrl, 'media_sessions_rejected_total', { code: 'AT_CAPACITY' }), 1);
});
