import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordingView } from '../recordings/recording-view.js';
import { TEST_OFFER, TEST_TOKEN, client, publish, startHarness, type Harness } from '../testing/harness.js';
import { WsTestClient } from '../testing/ws-client.js';

const PUBLISH_TOKEN = 'publish-token-0123456789abcdef';
const VIEW_TOKEN = 'view-token-0123456789abcdef';
let h: Harness;
const admin = client(() => h.url, TEST_TOKEN);
const publisher = client(() => h.url, PUBLISH_TOKEN);
const viewer = client(() => h.url, VIEW_TOKEN);

before(async () => {
  h = await startHarness({ API_TOKEN: TEST_TOKEN, PUBLISH_TOKEN, VIEW_TOKEN });
});
after(async () => {
  await h.close();
});

const start = async (api: typeof admin, sessionId: string) => api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });

test("PUBLISH_TOKEN: publishes, starts and stops its own sessions' recordings, and nothing else", async () => {
  const own = await publish(publisher);
  const started = await start(publisher, own);
  assert.equal(started.status, 201);
  const recording = (await started.json()) as RecordingView;
  assert.equal(recording.sessionId, own);
  assert.equal((await publisher(`/api/sessions/${own}`)).status, 200);
  assert.equal((await publisher(`/api/recordings/${recording.id}/stop`, { method: 'POST' })).status, 200);

  const adminsSession = await publish(admin);
  const forbidden = await start(publisher, adminsSession);
  assert.equal(forbidden.status, 403);
  assert.equal(((await forbidden.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
  assert.equal((await publisher(`/api/sessions/${adminsSession}`)).status, 403);
  assert.equal((await publisher(`/whip/${adminsSession}`, { method: 'DELETE' })).status, 403);
  const adminsRecording = (await (await start(admin, adminsSession)).json()) as RecordingView;
  assert.equal((await publisher(`/api/recordings/${adminsRecording.id}/stop`, { method: 'POST' })).status, 403);

  for (const [method, path] of [
    ['GET', '/api/recordings'],
    ['GET', `/api/recordings/${recording.id}`],
    ['GET', `/api/recordings/${recording.id}/media`],
    ['DELETE', `/api/recordings/${recording.id}`],
    ['GET', '/api/status'],
  ]) {
    assert.equal((await publisher(path ?? '', { method })).status, 401, `${method} ${path}`);
  }
  await assert.rejects(WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${PUBLISH_TOKEN}` }), (err: { status?: number }) => err.status === 401);
  assert.equal((await publisher(`/whip/${own}`, { method: 'DELETE' })).status, 200);
  assert.equal((await admin(`/api/recordings/${adminsRecording.id}/stop`, { method: 'POST' })).status, 200, 'admin may act on any session');
});

test('VIEW_TOKEN: lists, gets, plays, downloads, follows events and reads the status; changes nothing', async () => {
  const sessionId = await publish(admin);
  const recording = (await (await start(admin, sessionId)).json()) as RecordingView;
  await admin(`/api/recordings/${recording.id}/stop`, { method: 'POST' });
  assert.equal((await viewer('/api/recordings')).status, 200);
  assert.equal((await viewer(`/api/recordings/${recording.id}`)).status, 200);
  assert.equal((await viewer(`/api/recordings/${recording.id}/media`, { headers: { range: 'bytes=0-0' } })).status, 206);
  assert.equal((await viewer(`/api/sessions/${sessionId}`)).status, 200);
  assert.equal((await viewer('/api/status')).status, 200);
  const refused: Array<[string, string, RequestInit?]> = [
    ['POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER }],
    ['DELETE', `/whip/${sessionId}`],
    ['POST', `/api/sessions/${sessionId}/recordings`],
    ['POST', `/api/recordings/${recording.id}/stop`],
    ['DELETE', `/api/recordings/${recording.id}`],
  ];
  for (const [method, path, init] of refused) assert.equal((await viewer(path, { ...init, method })).status, 401, `${method} ${path}`);

  const byHeader = await WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${VIEW_TOKEN}` });
  await byHeader.waitFor((m) => m[0]?.type === 'ready', 'ready');
  const byMessage = await WsTestClient.connect(`${h.url}/ws`);
  byMessage.socket.send(JSON.stringify({ type: 'auth', token: VIEW_TOKEN }));
  await byMessage.waitFor((m) => m[0]?.type === 'ready', 'ready (message)');
  await admin(`/api/recordings/${recording.id}`, { method: 'DELETE' });
  await byMessage.waitFor((m) => m.some((x) => x.type === 'recording-deleted' && x.id === recording.id), 'the delete event');
  byHeader.close();
  byMessage.close();
});

test('the recordings in live events carry a signed mediaUrl too', async () => {
  const ws = await WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${VIEW_TOKEN}` });
  await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
  const sessionId = await publish(admin);
  const recording = (await (await start(admin, sessionId)).json()) as RecordingView;
  await admin(`/api/recordings/${recording.id}/stop`, { method: 'POST' });
  await ws.waitFor((m) => m.some((x) => x.type === 'recording' && x.recording.id === recording.id && x.recording.status === 'done'), 'done');
  const done = ws.messages.findLast((x) => x.type === 'recording' && x.recording.id === recording.id);
  assert.ok(done?.type === 'recording');
  assert.equal((await fetch(`${h.url}${done.recording.mediaUrl}`, { headers: { range: 'bytes=0-0' } })).status, 206);
  ws.close();
});
