import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import { buildOpenApiDocument } from '../openapi.js';
import { documentedOperations } from '../testing/openapi-conformance.js';
import { TEST_TOKEN, client, publish, startHarness, type Harness } from '../testing/harness.js';
import { rawRequest } from '../testing/raw-http.js';
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

/** Other ways of writing the same path that a lenient router or a normalising proxy might accept. */
function spellings(path: string): string[] {
  const segments = path.split('/').slice(1);
  const [first = '', ...rest] = segments;
  const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
  const encodeFirstLetter = (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`;
  const out = [
    path.toUpperCase(),
    `/${first.charAt(0).toUpperCase()}${first.slice(1)}${tail}`,
    `/${first}${tail.toUpperCase()}`,
    `${path}/`,
    `${path}//`,
    `/${path}`,
    `/${first}/${tail}`,
    `/${encodeFirstLetter(first)}${tail}`,
    `/${first}${rest.length > 0 ? `/${encodeFirstLetter(rest[0] ?? '')}${rest.length > 1 ? `/${rest.slice(1).join('/')}` : ''}` : ''}`,
    `/${first}%2F${rest.join('%2F')}`,
    `/${first}/..${path}`,
    `/${first}/.${tail}`,
    `/x/..${path}`,
    `${path}/.`,
    `/./${first}${tail}`,
    `/${first}%2e${tail}`,
  ];
  return [...new Set(out)].filter((p) => p !== path);
}

const protectedOperations = () => {
  const doc = buildOpenApiDocument({ version: 'test', authRequired: true });
  const paths = doc.paths as Record<string, Record<string, { security?: unknown[] }>>;
  return documentedOperations(doc).filter((o) => {
    const security = paths[o.path]?.[o.method]?.security;
    return security === undefined || security.length > 0;
  });
};

test('every protected route of the API document refuses every other spelling without the token: 401 or 404, never served', async () => {
  const operations = protectedOperations();
  assert.ok(operations.length >= 10, `the document has the protected routes (${operations.length})`);
  let tried = 0;
  for (const { method, path } of operations) {
    const real = path.replace(/\{(\w+)\}/g, (_m, name: string) => ids[name] ?? name);
    for (const spelling of [real, ...spellings(real)]) {
      const response = await rawRequest(h.url, method.toUpperCase(), spelling, { headers: { 'content-type': 'application/json' } });
      assert.ok([401, 404].includes(response.status), `${method.toUpperCase()} ${spelling} answered ${response.status}: ${response.body.slice(0, 200)}`);
      if (spelling === real) assert.equal(response.status, 401, `${method} ${real} itself needs the token`);
      tried++;
    }
  }
  assert.ok(tried > operations.length * 10);
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
