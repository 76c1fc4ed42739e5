import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import { assertNoSpellingServed, pathSpellings as spellings, rawRequest } from '@recstack/testkit';
import { buildOpenApiDocument } from '../openapi.js';
import { TEST_TOKEN, client, publish, startHarness, type Harness } from '../testing/harness.js';
import { WsTestClient } from '../testing/ws-client.js';

let h: Harness;
const authed = client(() => h.url, TEST_TOKEN);
let ids: Record<string, string>;

before(async () => {
  h = await startHarness({ API_TOKEN: TEST_TOKEN });
  const sessionId = await publish(authed);
  const started = (await (await authed(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
  const done = (await (await authed(`/api/recordings/${started.id}/stop`, { method: 'POST' })).json()) as Recording;
  assert.equal(done.status, 'done');
  // real ids: a spelling that slipped past authentication would reach something that exists and answer 2xx
  ids = { sessionId: await publish(authed), id: done.id };
});
after(async () => {
  await h.close();
});

test('every protected route of the API document refuses every other spelling without the token: 401 or 404, never served', async () => {
  await assertNoSpellingServed({ baseUrl: h.url, doc: buildOpenApiDocument({ version: 'test', authRequired: true }), ids });
  // the refused calls changed nothing: the session and the recording are still there
  assert.equal((await authed(`/api/sessions/${ids.sessionId}`)).status, 200);
  assert.equal((await authed(`/api/recordings/${ids.id}`)).status, 200);
});

test('with the token only the exact spelling is served; the others are 404', async () => {
  for (const spelling of spellings(`/api/recordings/${ids.id}`)) {
    const response = await rawRequest(h.url, 'GET', spelling, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    assert.equal(response.status, 404, `GET ${spelling}`);
  }
  assert.equal((await rawRequest(h.url, 'GET', `/api/recordings/${ids.id}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status, 200);
});

test('a WebSocket upgrade is taken only at /ws as spelled; other spellings are 404', async () => {
  const upgrade = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    authorization: `Bearer ${TEST_TOKEN}`,
  };
  for (const spelling of spellings('/ws')) assert.equal((await rawRequest(h.url, 'GET', spelling, { headers: upgrade })).status, 404, spelling);
  assert.equal((await rawRequest(h.url, 'GET', '/ws', { headers: upgrade })).status, 101, 'the exact spelling is taken');
  const ws = await WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${TEST_TOKEN}` });
  await ws.waitFor((m) => m[0]?.type === 'ready', 'ready');
  ws.close();
});
