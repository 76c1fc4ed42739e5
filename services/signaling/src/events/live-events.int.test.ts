import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import { client, publish, startHarness, type Harness } from '../testing/harness.js';
import { WsTestClient } from '../testing/ws-client.js';
import type { WsServerMessage } from './ws-messages.js';

let h: Harness;
const api = client(() => h.url);

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const recordingPuts = (messages: WsServerMessage[], id: string) => messages.flatMap((m) => (m.type === 'recording' && m.recording.id === id ? [m] : []));

test("a recording's state changes arrive in order, each with a higher revision", async () => {
  const ws = await WsTestClient.connect(`${h.url}/ws`);
  try {
    await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
    const sessionId = await publish(api);
    const started = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
    await ws.waitFor((m) => recordingPuts(m, started.id).some((p) => p.recording.status === 'recording'), 'recording');
    await api(`/api/recordings/${started.id}/stop`, { method: 'POST' });
    await ws.waitFor((m) => recordingPuts(m, started.id).some((p) => p.recording.status === 'done'), 'done');

    const puts = recordingPuts(ws.messages, started.id);
    const statuses = puts.map((p) => p.recording.status).filter((s, i, all) => s !== all[i - 1]);
    assert.deepEqual(statuses, ['starting', 'recording', 'stopping', 'done']);
    const revisions = puts.map((p) => p.revision);
    assert.deepEqual(
      revisions,
      [...revisions].sort((a, b) => a - b),
      'revisions increase',
    );
    assert.equal(new Set(revisions).size, revisions.length);
    const recording = puts.find((p) => p.recording.status === 'recording')!.recording;
    assert.ok(recording.startedAt && recording.firstKeyframeMs !== null, 'the first keyframe time is in the recording event');
    const done = puts.at(-1)!.recording;
    assert.equal(done.sizeBytes, h.recorder.fileSize);
    assert.ok(done.durationMs !== null);

    await api(`/api/recordings/${started.id}`, { method: 'DELETE' });
    await ws.waitFor((m) => m.some((x) => x.type === 'recording-deleted' && x.id === started.id), 'delete');
  } finally {
    ws.close();
  }
});

test('a failed start arrives as failed with its reason', async () => {
  const ws = await WsTestClient.connect(`${h.url}/ws`);
  try {
    await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
    const sessionId = await publish(api);
    const { ServiceError } = await import('@recstack/service-kit');
    h.media.behaviour.beforeStart = () => {
      throw new ServiceError('RECORDER_UNAVAILABLE', 'none');
    };
    try {
      assert.equal((await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).status, 503);
    } finally {
      delete h.media.behaviour.beforeStart;
    }
    await ws.waitFor((m) => m.some((x) => x.type === 'recording' && x.recording.sessionId === sessionId && x.recording.status === 'failed'), 'failed');
    const failed = ws.messages.find((x) => x.type === 'recording' && x.recording.status === 'failed' && x.recording.sessionId === sessionId);
    assert.ok(failed?.type === 'recording');
    assert.deepEqual(failed.recording.error, { code: 'RECORDER_UNAVAILABLE', message: 'no recorder is available' });
  } finally {
    ws.close();
  }
});

test('session changes are pushed: connected and closed', async () => {
  const ws = await WsTestClient.connect(`${h.url}/ws`);
  try {
    await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
    const sessionId = await publish(api);
    await ws.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId && x.event.type === 'connected'), 'connected');
    await api(`/whip/${sessionId}`, { method: 'DELETE' });
    await ws.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId && x.event.type === 'closed'), 'closed');
  } finally {
    ws.close();
  }
});

test('every connected client gets the same events; a closed one is forgotten', async () => {
  const a = await WsTestClient.connect(`${h.url}/ws`);
  const b = await WsTestClient.connect(`${h.url}/ws`);
  await a.waitFor((m) => m[0]?.type === 'ready', 'ready');
  await b.waitFor((m) => m[0]?.type === 'ready', 'ready');
  assert.equal(h.signaling.live.clientCount, 2);
  const sessionId = await publish(api);
  await a.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId), 'a');
  await b.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId), 'b');
  a.close();
  b.close();
  await a.closed();
  await b.closed();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.signaling.live.clientCount, 0);
});

test('a plain GET /ws is told to upgrade (426); a WebSocket on another path is refused', async () => {
  const plain = await api('/ws');
  assert.equal(plain.status, 426);
  assert.equal(((await plain.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  await assert.rejects(WsTestClient.connect(`${h.url}/elsewhere`), (err: { status?: number }) => err.status === 404);
});

test('a page from another site may not open the socket when there is no token', async () => {
  await assert.rejects(WsTestClient.connect(`${h.url}/ws`, { origin: 'https://evil.example' }), (err: { status?: number }) => err.status === 403);
  const ok = await WsTestClient.connect(`${h.url}/ws`, { origin: h.url });
  ok.close();
});
