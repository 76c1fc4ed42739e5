// Publisher sessions end to end: real nats-server, the media service as a real process (Medooze),
// headless Chromium publishing its fake camera and microphone with the offer/answer sent over NATS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { CreateSessionReplySchema, MediaPongSchema, subjects, type SessionEvent } from '@recstack/contracts';
import { launchChromium, type TestBrowser } from '@recstack/testkit';
import { EventLog, metricValue, rawRequest, sessionEntry, startMediaHarness, waitUntil, type MediaHarness } from './testing/media-harness.js';
import { Publisher, startPageServer, type PageServer } from './testing/publisher-page.js';

let h: MediaHarness;
let browser: TestBrowser;
let pages: PageServer;
let events: EventLog<SessionEvent>;
let counter = 0;

before(async () => {
  h = await startMediaHarness({ MAX_SESSIONS: '3', MEDIA_ENDPOINTS: '2' });
  events = new EventLog<SessionEvent>(h.nc, subjects.events.allSessions);
  [browser, pages] = await Promise.all([launchChromium(), startPageServer()]);
});

after(async () => {
  events?.close();
  await browser?.close();
  await pages?.close();
  await h?.stop();
});

const nextSessionId = () => `ses_int${process.pid}x${++counter}`;

async function createSession(publisher: Publisher, sessionId = nextSessionId()) {
  const reply = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: publisher.offer });
  assert.equal(reply.ok, true, JSON.stringify(reply.error));
  return CreateSessionReplySchema.parse(reply.result);
}

test('Chromium publishes through media.v1.session.create: answer, KV entry, connected event, then close', { timeout: 90_000 }, async () => {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'h264' });
  const sessionId = nextSessionId();
  const reply = await createSession(publisher, sessionId);
  assert.equal(reply.sessionId, sessionId);
  assert.equal(reply.mediaId, h.mediaId);
  assert.deepEqual(reply.tracks, [
    { kind: 'video', codec: 'h264' },
    { kind: 'audio', codec: 'opus' },
  ]);
  assert.match(reply.answer, /a=ice-lite/);
  assert.equal(reply.answer.match(/^a=rtpmap:\d+ H264\/90000/gm)?.length, 1, 'exactly one video codec answered');

  await publisher.applyAnswer(reply.answer);
  await publisher.waitConnected();

  const entry = await sessionEntry(h.nc, sessionId);
  assert.deepEqual(entry && { sessionId: entry.sessionId, mediaId: entry.mediaId, tracks: entry.tracks }, {
    sessionId,
    mediaId: h.mediaId,
    tracks: reply.tracks,
  });
  const connected = await events.waitFor(subjects.events.session(sessionId), 'connected');
  assert.equal(connected.type === 'connected' && connected.mediaId, h.mediaId);

  // media receives the publisher's packets
  await waitUntil(
    'video packets received',
    async () => ((await metricValue(h.opsUrl, 'media_track_packets_received', { session_id: sessionId, kind: 'video' })) ?? 0) > 50,
  );
  assert.equal(await metricValue(h.opsUrl, 'media_sessions_active'), 1);
  assert.ok((await metricValue(h.opsUrl, 'media_track_packets_lost', { session_id: sessionId, kind: 'audio' })) !== undefined);

  const closed = await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
  assert.deepEqual(closed, { ok: true, result: { sessionId, closed: true } });
  const closedEvent = await events.waitFor(subjects.events.session(sessionId), 'closed');
  assert.equal(closedEvent.type === 'closed' && closedEvent.reason, 'requested');
  assert.equal(await sessionEntry(h.nc, sessionId), undefined);
  assert.equal(await metricValue(h.opsUrl, 'media_sessions_active'), 0);
  await waitUntil(
    'per-session series to go away',
    async () => (await metricValue(h.opsUrl, 'media_track_packets_received', { session_id: sessionId, kind: 'video' })) === undefined,
    5000,
  );

  const again = await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
  assert.deepEqual(again, { ok: true, result: { sessionId, closed: false } });
  await publisher.close();
});

test('each codec the publisher prefers is the one answered; audio-only and video-only publishers work', { timeout: 120_000 }, async () => {
  const cases = [
    { options: { videoCodec: 'vp8' as const }, tracks: ['video:vp8', 'audio:opus'] },
    { options: { videoCodec: 'vp9' as const }, tracks: ['video:vp9', 'audio:opus'] },
    { options: { videoCodec: 'av1' as const }, tracks: ['video:av1', 'audio:opus'] },
    { options: { video: false }, tracks: ['audio:opus'] },
    { options: { audio: false, videoCodec: 'h264' as const }, tracks: ['video:h264'] },
  ];
  for (const c of cases) {
    const publisher = await Publisher.open(browser, pages.url, c.options);
    const sessionId = nextSessionId();
    const reply = await createSession(publisher, sessionId);
    assert.deepEqual(
      reply.tracks.map((t) => `${t.kind}:${t.codec}`),
      c.tracks,
      JSON.stringify(c.options),
    );
    await publisher.applyAnswer(reply.answer);
    await publisher.waitConnected();
    const kind = c.tracks[0]?.split(':')[0] ?? 'video';
    await waitUntil(
      `${kind} packets for ${JSON.stringify(c.options)}`,
      async () => ((await metricValue(h.opsUrl, 'media_track_packets_received', { session_id: sessionId, kind })) ?? 0) > 20,
    );
    await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
    await publisher.close();
  }
});

test('a publisher that closes its tab is detected and its session closed (publisher-left)', { timeout: 90_000 }, async () => {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
  const sessionId = nextSessionId();
  const reply = await createSession(publisher, sessionId);
  await publisher.applyAnswer(reply.answer);
  await publisher.waitConnected();
  await events.waitFor(subjects.events.session(sessionId), 'connected');
  await publisher.close();
  const closed = await events.waitFor(subjects.events.session(sessionId), 'closed', 45_000);
  assert.equal(closed.type === 'closed' && closed.reason, 'publisher-left');
  assert.equal(await sessionEntry(h.nc, sessionId), undefined);
  assert.ok(h.media.logs.some((l) => l.msg === 'publisher gone' && l.sessionId === sessionId));
});

test(
  'a session whose publisher never completes ICE/DTLS is released within PUBLISHER_CONNECT_TIMEOUT_SECONDS (10 s); a connected one is kept',
  { timeout: 60_000 },
  async () => {
    const silent = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
    const connected = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
    const silentId = nextSessionId();
    const connectedId = nextSessionId();
    try {
      const startedAt = Date.now();
      // the answer is never given to the silent publisher: no ICE check, no DTLS ever reaches media
      await createSession(silent, silentId);
      const reply = await createSession(connected, connectedId);
      await connected.applyAnswer(reply.answer);
      await connected.waitConnected();
      const closed = await events.waitFor(subjects.events.session(silentId), 'closed', 30_000);
      assert.equal(closed.type === 'closed' && closed.reason, 'ice-timeout');
      const heldMs = Date.parse(closed.at) - startedAt;
      assert.ok(heldMs <= 12_000, `released ${heldMs} ms after creation (deadline 10 s, plus the close itself)`);
      assert.equal(await sessionEntry(h.nc, silentId), undefined, 'its entry is gone');
      assert.ok(h.media.logs.some((l) => l.msg === 'publisher did not connect in time' && l.sessionId === silentId));
      // past the deadline, the publisher that did connect is still there
      await new Promise((r) => setTimeout(r, Math.max(0, startedAt + 11_000 - Date.now())));
      assert.deepEqual(
        events.of(subjects.events.session(connectedId)).map((e) => e.type),
        ['connected'],
      );
      assert.ok(await sessionEntry(h.nc, connectedId));
    } finally {
      await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId: connectedId });
      await silent.close();
      await connected.close();
    }
  },
);

test('a publisher that hangs up (pc.close, DTLS close alert) is detected at once', { timeout: 60_000 }, async () => {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'h264' });
  const sessionId = nextSessionId();
  const reply = await createSession(publisher, sessionId);
  await publisher.applyAnswer(reply.answer);
  await publisher.waitConnected();
  await publisher.hangUp();
  const closed = await events.waitFor(subjects.events.session(sessionId), 'closed', 5000);
  assert.equal(closed.type === 'closed' && closed.reason, 'publisher-left');
  assert.ok(h.media.logs.some((l) => l.msg === 'publisher gone' && l.sessionId === sessionId && l.cause === 'dtls-closed'));
  await publisher.close();
});

test('ops server: /healthz, /readyz with its checks, /metrics in Prometheus format', { timeout: 30_000 }, async () => {
  const health = await fetch(`${h.opsUrl}/healthz`);
  assert.equal(health.status, 200);
  const ready = await fetch(`${h.opsUrl}/readyz`);
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { status: string; checks: Record<string, unknown> };
  assert.equal(body.status, 'ready');
  assert.equal(body.checks.nats, true);
  assert.equal(body.checks.accepting, true);
  const metrics = await (await fetch(`${h.opsUrl}/metrics`)).text();
  for (const name of [
    'media_sessions_active',
    'media_recordings_active',
    'media_keyframe_requests_total',
    'media_recorder_ports_in_use',
    'process_cpu_seconds_total',
  ]) {
    assert.match(metrics, new RegExp(`^${name}`, 'm'), name);
  }
});

test('bad offers get typed errors and the service keeps serving', { timeout: 60_000 }, async () => {
  const bad = async (offer: string) => rawRequest(h.nc, subjects.media.createSession, { sessionId: nextSessionId(), offer });
  for (const offer of [
    'hello',
    'v=0\r\n',
    'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n',
    '\u0000\u0001\u0002',
    'v=0\r\n' + 'a=x\r\n'.repeat(1000),
  ]) {
    const reply = await bad(offer);
    assert.equal(reply.ok, false);
    assert.equal(reply.error?.code, 'BAD_REQUEST', `${JSON.stringify(offer.slice(0, 30))}: ${JSON.stringify(reply.error)}`);
  }
  // a real offer with its ICE password or fingerprint damaged
  const real = await readFile(new URL('./fixtures/chromium-h264-first.sdp', import.meta.url), 'utf8');
  for (const broken of [
    real.replace(/a=ice-pwd:.*\r?\n/g, ''),
    real.replace(/a=fingerprint:sha-256 [0-9A-F:]+/g, 'a=fingerprint:sha-256 zz'),
    real.replace(/a=setup:actpass/g, 'a=setup:bogus'),
  ]) {
    const reply = await bad(broken);
    assert.equal(reply.error?.code, 'BAD_REQUEST', JSON.stringify(reply.error));
  }
  const pcmuOnly = await readFile(new URL('./fixtures/chromium-pcmu-audio-only.sdp', import.meta.url), 'utf8');
  const unsupported = await bad(pcmuOnly);
  assert.equal(unsupported.error?.code, 'UNSUPPORTED_CODEC');
  assert.match(unsupported.error?.message ?? '', /PCMU/);

  // still serving
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
  const reply = await createSession(publisher);
  await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId: reply.sessionId });
  await publisher.close();
  assert.equal(h.media.child.exitCode, null);
});

// ICE-lite answers the publisher's checks and never starts its own: probing the candidates an offer names
// would let any WHIP caller point our UDP traffic at an address of its choice, and behind a published
// port range (docker compose) those probes take the NAT mapping the publisher's own packets need.
test('media sends nothing to the candidates an offer names', { timeout: 30_000 }, async () => {
  const listener = createSocket('udp4');
  const received: string[] = [];
  listener.on('message', (msg, from) => received.push(`${msg.length} bytes from ${from.address}:${from.port}`));
  await new Promise<void>((done) => listener.bind(0, '127.0.0.1', done));
  try {
    const { port } = listener.address();
    const real = await readFile(new URL('./fixtures/chromium-h264-first.sdp', import.meta.url), 'utf8');
    const offer = real.replace(/^a=candidate:(\S+) 1 udp (\d+) [^ ]+ \d+ typ host/gm, `a=candidate:$1 1 udp $2 127.0.0.1 ${port} typ host`);
    assert.match(offer, new RegExp(`127\\.0\\.0\\.1 ${port} typ host`));
    const sessionId = nextSessionId();
    const reply = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer });
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    // Medooze probes a registered candidate at once and then every few hundred milliseconds
    await new Promise((r) => setTimeout(r, 3000));
    await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
    assert.deepEqual(received, [], "packets media sent to the offer's candidate");
  } finally {
    listener.close();
  }
});

test('300 randomly damaged Chromium offers: each gets an answer or a typed error, and media never crashes', { timeout: 120_000 }, async () => {
  const base = (await readFile(new URL('./fixtures/chromium-h264-first.sdp', import.meta.url), 'utf8')).split('\r\n');
  let seed = 20240611;
  const rnd = (n: number) => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };
  const junk = ['', 'x', '-1', '99999999999', 'a=b', '\u0000', ':::', 'abc def', '0', '65536', 'NaN', '%s%n', '1/2/3', 'é'];
  const risky = /^(a=(ssrc|ssrc-group|msid|rtpmap|fmtp|extmap|candidate|rtcp-fb|mid|group|fingerprint|setup|ice-ufrag|ice-pwd)|m=)/;
  const seen: Record<string, number> = {};
  for (let i = 0; i < 300; i++) {
    const lines = [...base];
    for (let k = 0; k < 1 + rnd(3); k++) {
      const targets = lines.flatMap((l, idx) => (idx > 0 && risky.test(l) ? [idx] : []));
      const j = targets[rnd(targets.length)] ?? 1;
      const op = rnd(4);
      if (op === 0) lines.splice(j, 1);
      else if (op === 1) lines.splice(j, 0, lines[rnd(lines.length)] ?? '');
      else {
        const parts = (lines[j] ?? '').split(/([ :=/;])/);
        parts[rnd(parts.length)] = junk[rnd(junk.length)] ?? '';
        lines[j] = parts.join('');
      }
    }
    const sessionId = nextSessionId();
    const reply = await rawRequest(h.nc, subjects.media.createSession, { sessionId, offer: lines.join('\r\n') });
    const outcome = reply.ok ? 'ok' : (reply.error?.code ?? '?');
    seen[outcome] = (seen[outcome] ?? 0) + 1;
    assert.ok(
      ['ok', 'BAD_REQUEST', 'UNSUPPORTED_CODEC'].includes(outcome),
      `offer ${i}: ${JSON.stringify(reply.error)}\n${lines.join('\n')}\n${h.media.logs
        .filter((l) => l.msg === 'request failed')
        .map((l) => JSON.stringify(l.err))
        .slice(-1)
        .join('')}`,
    );
    if (reply.ok) await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId });
  }
  assert.ok((seen.BAD_REQUEST ?? 0) > 0 && (seen.ok ?? 0) > 0, JSON.stringify(seen));
  assert.equal(h.media.child.exitCode, null);
  assert.equal(await metricValue(h.opsUrl, 'media_sessions_active'), 0);
});

test('malformed messages on every subject get a BAD_REQUEST reply and the service keeps serving', { timeout: 30_000 }, async () => {
  const subjectsToTry = [
    subjects.media.createSession,
    subjects.media.closeSession(h.mediaId),
    subjects.media.startRecording(h.mediaId),
    subjects.media.stopRecording(h.mediaId),
    subjects.media.ping,
  ];
  for (const subject of subjectsToTry) {
    for (const payload of [
      '{not json',
      '[]',
      '{"sessionId": "a.b.c"}',
      '{"sessionId": 5, "offer": null, "recordingId": {}}',
      new Uint8Array([0xff, 0xfe, 0x00]),
    ]) {
      const reply = await rawRequest(h.nc, subject, payload);
      assert.equal(reply.ok, false, `${subject} ${String(payload)}`);
      assert.equal(reply.error?.code, 'BAD_REQUEST', `${subject} ${String(payload)}: ${JSON.stringify(reply.error)}`);
    }
  }
  const pong = await rawRequest(h.nc, subjects.media.ping, {});
  assert.equal(pong.ok, true);
  const { mediaId, sessions, recordings, capacity, endpoints, accepting } = MediaPongSchema.parse(pong.result);
  assert.deepEqual(
    { mediaId, sessions, recordings, capacity, endpoints, accepting },
    { mediaId: h.mediaId, sessions: 0, recordings: 0, capacity: 3, endpoints: 2, accepting: true },
  );
  const unknown = await rawRequest(h.nc, subjects.media.startRecording(h.mediaId), { sessionId: 'ses_nope', recordingId: 'rec_nope' });
  assert.equal(unknown.error?.code, 'NO_SUCH_SESSION');
  const unknownStop = await rawRequest(h.nc, subjects.media.stopRecording(h.mediaId), { sessionId: 'ses_nope', recordingId: 'rec_nope', reason: 'requested' });
  assert.equal(unknownStop.error?.code, 'NO_SUCH_RECORDING');
});

test('MAX_SESSIONS: one offer too many is refused with AT_CAPACITY; a duplicate session id with CONFLICT', { timeout: 90_000 }, async () => {
  const publishers = await Promise.all([0, 1, 2, 3].map(() => Publisher.open(browser, pages.url, { videoCodec: 'vp8' })));
  const ids = publishers.map(() => nextSessionId());
  // connected, so the connect deadline (PUBLISHER_CONNECT_TIMEOUT_SECONDS) cannot free a place under the test
  for (let i = 0; i < 3; i++) {
    const publisher = publishers[i] as Publisher;
    const reply = await createSession(publisher, ids[i]);
    await publisher.applyAnswer(reply.answer);
    await publisher.waitConnected();
  }
  const refused = await rawRequest(h.nc, subjects.media.createSession, { sessionId: ids[3], offer: publishers[3]?.offer });
  assert.equal(refused.error?.code, 'AT_CAPACITY');
  await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId: ids[2] });
  const duplicate = await rawRequest(h.nc, subjects.media.createSession, { sessionId: ids[0], offer: publishers[3]?.offer });
  assert.equal(duplicate.error?.code, 'CONFLICT');
  const accepted = await rawRequest(h.nc, subjects.media.createSession, { sessionId: ids[3], offer: publishers[3]?.offer });
  assert.equal(accepted.ok, true);
  for (const id of [ids[0], ids[1], ids[3]]) await rawRequest(h.nc, subjects.media.closeSession(h.mediaId), { sessionId: id });
  await Promise.all(publishers.map((p) => p.close()));
  assert.equal(await metricValue(h.opsUrl, 'media_sessions_active'), 0);
});

test('SIGTERM closes every session (entries deleted, closed events) and the process exits 0', { timeout: 90_000 }, async () => {
  const publisher = await Publisher.open(browser, pages.url, { videoCodec: 'vp8' });
  const sessionId = nextSessionId();
  const reply = await createSession(publisher, sessionId);
  await publisher.applyAnswer(reply.answer);
  await publisher.waitConnected();
  const exit = await h.media.stop('SIGTERM', 30_000);
  assert.deepEqual(exit, { code: 0, signal: null });
  const closed = await events.waitFor(subjects.events.session(sessionId), 'closed');
  assert.equal(closed.type === 'closed' && closed.reason, 'shutdown');
  assert.equal(await sessionEntry(h.nc, sessionId), undefined);
  assert.ok(h.media.logs.some((l) => l.msg === 'shutdown complete'));
  await publisher.close();
  await h.restartMedia();
});
