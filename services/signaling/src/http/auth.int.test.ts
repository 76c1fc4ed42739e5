import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import type { RecordingView } from '../recordings/recording-view.js';
import { buildOpenApiDocument } from '../openapi.js';
import { TEST_OFFER, TEST_TOKEN, client, publish, startHarness, type Harness } from '../testing/harness.js';
import { ResponseValidator } from '../testing/openapi-conformance.js';
import { WsTestClient } from '../testing/ws-client.js';

let h: Harness;
const anonymous = client(() => h.url);
const authed = client(() => h.url, TEST_TOKEN);
const validator = new ResponseValidator(buildOpenApiDocument({ version: 'test', authRequired: true }));

before(async () => {
  h = await startHarness({ API_TOKEN: TEST_TOKEN });
});
after(async () => {
  await h.close();
});

const UNAUTHORIZED = { error: { code: 'UNAUTHORIZED', message: 'authentication required' } };

test('every API and WHIP call without the right token is 401, with the same body whatever was wrong', async () => {
  const sessionId = await publish(authed);
  const calls: Array<[string, string, RequestInit?]> = [
    ['GET', '/api/recordings'],
    ['GET', '/api/recordings/rec_x'],
    ['POST', '/api/recordings/rec_x/stop'],
    ['DELETE', '/api/recordings/rec_x'],
    ['GET', '/api/recordings/rec_x/media'],
    ['GET', `/api/sessions/${sessionId}`],
    ['POST', `/api/sessions/${sessionId}/recordings`],
    ['POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER }],
    ['DELETE', `/whip/${sessionId}`],
  ];
  for (const [method, path, init] of calls) {
    for (const authorization of [
      undefined,
      `Bearer ${TEST_TOKEN}x`,
      'Bearer wrong',
      `Basic ${Buffer.from(`u:${TEST_TOKEN}`).toString('base64')}`,
      TEST_TOKEN,
    ]) {
      const headers = new Headers(init?.headers);
      if (authorization) headers.set('authorization', authorization);
      const response = await anonymous(path, { ...init, method, headers });
      assert.equal(response.status, 401, `${method} ${path} with ${authorization ?? 'nothing'}`);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      assert.deepEqual(await validator.checkResponse(method, response), UNAUTHORIZED);
    }
  }
  assert.equal((await authed(`/api/sessions/${sessionId}`)).status, 200, 'nothing was changed by the refused calls');
});

test('with the token everything works; the page, health, metrics and the API document stay open', async () => {
  const sessionId = await publish(authed);
  const started = await authed(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
  assert.equal(started.status, 201);
  const recording = (await started.json()) as Recording;
  const stopped = await authed(`/api/recordings/${recording.id}/stop`, { method: 'POST' });
  assert.equal(stopped.status, 200);
  for (const path of ['/', '/app.js', '/style.css', '/healthz', '/metrics', '/openapi.json']) {
    assert.equal((await anonymous(path)).status, 200, path);
  }
  assert.equal((await anonymous('/readyz')).status, 200);
});

test('media downloads take no token in the URL: the recording carries a short-lived signed mediaUrl instead', async () => {
  const sessionId = await publish(authed);
  const recording = (await (await authed(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as RecordingView;
  const stopped = (await (await authed(`/api/recordings/${recording.id}/stop`, { method: 'POST' })).json()) as RecordingView;
  const listed = ((await (await authed('/api/recordings')).json()) as RecordingView[]).find((r) => r.id === recording.id);
  for (const view of [recording, stopped, listed])
    assert.match(view?.mediaUrl ?? '', new RegExp(`^/api/recordings/${recording.id}/media\\?expires=\\d+&sig=[A-Za-z0-9_-]+$`));

  const ok = await anonymous(stopped.mediaUrl, { headers: { range: 'bytes=0-9' } });
  assert.equal(ok.status, 206, 'the signed URL alone is enough');
  assert.equal((await anonymous(`${stopped.mediaUrl}&download=1`)).headers.get('content-disposition')?.startsWith('attachment'), true);
  const tampered = stopped.mediaUrl.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
  assert.equal((await anonymous(tampered)).status, 401);
  const later = stopped.mediaUrl.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`);
  assert.equal((await anonymous(later)).status, 401, 'the expiry is signed');
  const other = (await (await authed(`/api/sessions/${await publish(authed)}/recordings`, { method: 'POST' })).json()) as RecordingView;
  assert.equal((await anonymous(stopped.mediaUrl.replace(recording.id, other.id))).status, 401, 'a signature is for one recording');
  assert.equal((await anonymous(`/api/recordings/${recording.id}/media?access_token=${TEST_TOKEN}`)).status, 401, 'a token in the query is not taken');
  assert.equal((await anonymous(`/api/recordings?${stopped.mediaUrl.split('?')[1]}`)).status, 401, 'a signature opens nothing else');
  assert.equal(
    (await anonymous(stopped.mediaUrl, { headers: { authorization: 'Bearer wrong' } })).status,
    401,
    'a wrong header is not rescued by the signature',
  );
});

test('the WebSocket takes the token in the header or the first message, never the query; wrong or missing is refused', async () => {
  const byHeader = await WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${TEST_TOKEN}` });
  await byHeader.waitFor((m) => m[0]?.type === 'ready', 'ready (header)');
  byHeader.close();

  const byQuery = await WsTestClient.connect(`${h.url}/ws?access_token=${TEST_TOKEN}`);
  assert.equal(await byQuery.closed(), 4401, 'a token in the URL counts for nothing: closed for want of the first message');
  assert.deepEqual(byQuery.messages, []);

  const byMessage = await WsTestClient.connect(`${h.url}/ws`);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(byMessage.messages, [], 'nothing is sent before the token');
  byMessage.socket.send(JSON.stringify({ type: 'auth', token: TEST_TOKEN }));
  await byMessage.waitFor((m) => m[0]?.type === 'ready', 'ready (message)');
  const sessionId = await publish(authed);
  await byMessage.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId), 'events after auth');
  byMessage.close();

  await assert.rejects(WsTestClient.connect(`${h.url}/ws`, { authorization: 'Bearer wrong' }), (err: { status?: number }) => err.status === 401);

  const wrongMessage = await WsTestClient.connect(`${h.url}/ws`);
  wrongMessage.socket.send(JSON.stringify({ type: 'auth', token: 'wrong' }));
  assert.equal(await wrongMessage.closed(), 4401);
  assert.deepEqual(wrongMessage.messages, []);

  const garbage = await WsTestClient.connect(`${h.url}/ws`);
  garbage.socket.send('not json at all');
  assert.equal(await garbage.closed(), 4401);

  const silent = await WsTestClient.connect(`${h.url}/ws`);
  assert.equal(await silent.closed(), 4401, 'no token within the time limit');
  assert.deepEqual(silent.messages, []);
});

test('with a token, requests from other origins are allowed (the token is the protection)', async () => {
  const response = await authed('/api/recordings', { headers: { origin: 'https://app.example' } });
  assert.equal(response.status, 200);
});
