import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKETS, rpc, subjects, type Recording } from '@recstack/contracts';
import { encodeJson } from '@recstack/service-kit';
import { TEST_OFFER, client, publish, startHarness, type Harness } from '../testing/harness.js';
import { WsTestClient } from '../testing/ws-client.js';

/** Whatever arrives over NATS, signaling answers its clients and keeps serving. */

let h: Harness;
const api = client(() => h.url);
const whip = () => api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

async function stillServing(): Promise<void> {
  assert.equal((await api('/healthz')).status, 200);
  const sessionId = await publish(api);
  const started = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
  assert.equal(started.status, 201);
  const { id } = (await started.json()) as Recording;
  assert.equal((await api(`/api/recordings/${id}/stop`, { method: 'POST' })).status, 200);
}

test('malformed replies from media are 502 with a code, never a crash or a client error', async () => {
  await h.media.close();
  const replies: Array<Uint8Array> = [
    new TextEncoder().encode('this is not json'),
    encodeJson({ hello: 'world' }),
    encodeJson({ ok: true, result: { sessionId: 'ses_x' } }),
    encodeJson({ ok: false, error: { code: 'NOT_A_CODE', message: 'x' } }),
    new Uint8Array([0xff, 0x00, 0x13]),
  ];
  const responder = h.testNc.subscribe(rpc.media.createSession.subject, {
    queue: rpc.media.createSession.queue,
    callback: (_err, msg) => msg.respond(replies.shift() ?? encodeJson(null)),
  });
  await h.testNc.flush();
  try {
    for (let i = 0; i < 5; i++) {
      const response = await whip();
      assert.equal(response.status, 502, `reply ${i}`);
      assert.deepEqual(await response.json(), { error: { code: 'INVALID_REPLY', message: 'the media service sent an invalid reply' } });
    }
  } finally {
    responder.unsubscribe();
    await h.media.reopen();
  }
  await stillServing();
});

test('a reply for another session is refused', async () => {
  await h.media.close();
  const responder = h.testNc.subscribe(rpc.media.createSession.subject, {
    queue: rpc.media.createSession.queue,
    callback: (_err, msg) => msg.respond(encodeJson({ ok: true, result: { sessionId: 'ses_someoneelse', mediaId: 'med_1', answer: 'v=0', tracks: [] } })),
  });
  await h.testNc.flush();
  try {
    assert.equal((await whip()).status, 502);
  } finally {
    responder.unsubscribe();
    await h.media.reopen();
  }
});

test('garbage events and catalog entries are skipped; live events keep flowing', async () => {
  const ws = await WsTestClient.connect(`${h.url}/ws`);
  try {
    await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
    h.testNc.publish(subjects.events.session('ses_bad'), new TextEncoder().encode('{not json'));
    h.testNc.publish(subjects.events.session('ses_bad'), encodeJson({ type: 'exploded', sessionId: 'ses_bad' }));
    h.testNc.publish(subjects.events.recording('rec_bad'), encodeJson({ type: 'finished' }));
    const kv = await h.testNc.jetstream().views.kv(BUCKETS.recordings);
    await kv.put('rec_garbage', new TextEncoder().encode('{"id": "rec_garbage", "status": 42}'));
    await kv.put('rec_notjson', new TextEncoder().encode('\u0000\u0001'));
    const sessions = await h.testNc.jetstream().views.kv(BUCKETS.sessions);
    await sessions.put('ses_garbage', new TextEncoder().encode('{"sessionId": 5}'));

    const list = await api('/api/recordings');
    assert.equal(list.status, 200);
    assert.ok(!((await list.json()) as Recording[]).some((r) => r.id === 'rec_garbage' || r.id === 'rec_notjson'));
    assert.equal((await api('/api/recordings/rec_garbage')).status, 404);
    assert.equal((await api('/api/sessions/ses_garbage')).status, 404);
    assert.equal((await api('/api/sessions/ses_garbage/recordings', { method: 'POST' })).status, 404);
    assert.ok(!ws.messages.some((m) => m.type === 'session' && m.event.sessionId === 'ses_bad'), 'invalid events are not forwarded');

    const sessionId = await publish(api);
    await ws.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId), 'a valid event after the garbage');
    await kv.delete('rec_garbage');
    await kv.delete('rec_notjson');
  } finally {
    ws.close();
  }
  await stillServing();
});

test('before media has created the sessions bucket, every session is simply unknown', async () => {
  const jsm = await h.testNc.jetstreamManager();
  await jsm.streams.delete(`KV_${BUCKETS.sessions}`);
  await h.restart();
  try {
    const response = await api('/api/sessions/ses_anything');
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'NO_SUCH_SESSION');
    assert.equal((await api('/whip/ses_anything', { method: 'DELETE' })).status, 404);
  } finally {
    await h.media.close();
    const { FakeMedia } = await import('../testing/fake-backends.js');
    h.media = await FakeMedia.start(h.testNc, h.catalog, h.logger);
  }
  await stillServing();
});

test('a closed NATS connection makes the API answer 503, not crash', async () => {
  const { connect } = await import('nats');
  const { startSignaling } = await import('../signaling.js');
  const { loadConfig } = await import('../config.js');
  const nc = await connect({ servers: h.nats.url });
  const signaling = await startSignaling(loadConfig({ HTTP_PORT: '0', RECORDINGS_DIR: h.recordingsDir, RATE_LIMIT_PER_MINUTE: '0' }), nc, h.logger);
  try {
    await nc.close();
    const response = await fetch(`${signaling.url}/whip`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'MEDIA_UNAVAILABLE');
    const ready = await fetch(`${signaling.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal((await fetch(`${signaling.url}/healthz`)).status, 200);
  } finally {
    await signaling.close(1000);
  }
});
