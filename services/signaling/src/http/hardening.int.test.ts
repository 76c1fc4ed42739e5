import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { subjects } from '@recstack/contracts';
import { rawRequest, sendLargeBody } from '@recstack/testkit';
import { TEST_OFFER, TEST_TOKEN, client, publish, startHarness, waitUntil, type Harness } from '../testing/harness.js';
import { WsTestClient } from '../testing/ws-client.js';

let h: Harness;
const api = client(() => h.url);

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const code = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;
const whip = (headers: Record<string, string> = {}) =>
  api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: TEST_OFFER });
const upgradeHeaders = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

test('without a token only loopback Host names (and ALLOWED_HOSTS) are answered: DNS rebinding gets 421', async () => {
  for (const host of ['localhost', 'localhost:8080', '127.0.0.1', `127.0.0.1:${h.signaling.port}`, '[::1]:80']) {
    assert.equal((await rawRequest(h.url, 'GET', '/api/recordings', { headers: { host } })).status, 200, host);
  }
  for (const host of ['evil.example', 'evil.example:8080', '127.0.0.1.evil.example', 'rec.lan']) {
    for (const path of ['/api/recordings', '/', '/openapi.json']) {
      const response = await rawRequest(h.url, 'GET', path, { headers: { host } });
      assert.equal(response.status, 421, `${host} ${path}`);
      assert.equal(code(response.body), 'MISDIRECTED_REQUEST');
    }
    const post = await rawRequest(h.url, 'POST', '/whip', { headers: { host, 'content-type': 'application/sdp' }, body: TEST_OFFER });
    assert.equal(post.status, 421);
    assert.equal((await rawRequest(h.url, 'GET', '/ws', { headers: { ...upgradeHeaders, host } })).status, 421, `WebSocket upgrade with ${host}`);
  }
  assert.equal((await rawRequest(h.url, 'GET', '/healthz', { headers: { host: '10.1.2.3:8080' } })).status, 200, 'probes name the pod address');
  assert.equal((await rawRequest(h.url, 'GET', '/ws', { headers: { ...upgradeHeaders, host: 'localhost' } })).status, 101);

  await h.restart({ ALLOWED_HOSTS: 'rec.lan' });
  assert.equal((await rawRequest(h.url, 'GET', '/api/recordings', { headers: { host: 'rec.lan:8080' } })).status, 200);
  assert.equal((await rawRequest(h.url, 'GET', '/api/recordings', { headers: { host: 'evil.example' } })).status, 421);
  await h.restart();
});

test('behind trusted proxies the client is the entry TRUST_PROXY_HOPS from the right: rotating X-Forwarded-For does not escape the rate limit', async () => {
  await h.restart({ TRUST_PROXY_HOPS: '1', RATE_LIMIT_PER_MINUTE: '8' });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      // what the client wrote, then what the proxy appended: the client's real address
      const response = await whip({ 'x-forwarded-for': `10.9.${i}.${i}, 203.0.113.7` });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    assert.deepEqual(statuses.slice(0, 2), [201, 201], 'a burst of two passes');
    assert.ok(
      statuses.slice(2).every((s) => s === 429),
      `the rest is limited whatever the client wrote: ${statuses.join(',')}`,
    );
    const another = await whip({ 'x-forwarded-for': '10.9.0.0, 203.0.113.8' });
    assert.equal(another.status, 201, 'another real address has its own budget');
  } finally {
    await h.restart();
  }
});

test('one client holds at most MAX_SESSIONS_PER_CLIENT publisher sessions: 429 TOO_MANY_SESSIONS; an ended session frees its place', async () => {
  await h.restart({ MAX_SESSIONS_PER_CLIENT: '2', TRUST_PROXY_HOPS: '1' });
  try {
    const me = { 'x-forwarded-for': '198.51.100.1' };
    const first = await publish((path, init) => api(path, { ...init, headers: { ...me, ...(init?.headers as Record<string, string>) } }));
    const second = await publish((path, init) => api(path, { ...init, headers: { ...me, ...(init?.headers as Record<string, string>) } }));
    const refused = await whip(me);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'TOO_MANY_SESSIONS');
    assert.match(body.error.message, /2 publisher sessions/);
    assert.equal((await whip({ 'x-forwarded-for': '198.51.100.2' })).status, 201, 'another client is not affected');

    assert.equal((await api(`/whip/${first}`, { method: 'DELETE' })).status, 200);
    assert.equal((await whip(me)).status, 201, 'a DELETE frees the place');
    assert.equal((await whip(me)).status, 429);
    // media ending a session on its own (publisher gone, ICE timeout) frees it too
    h.testNc.publish(
      subjects.events.session(second),
      JSON.stringify({ type: 'closed', sessionId: second, mediaId: 'med_fake1', reason: 'ice-timeout', at: new Date().toISOString() }),
    );
    let status = 0;
    for (let i = 0; i < 50 && status !== 201; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const response = await whip(me);
      status = response.status;
      await response.arrayBuffer();
    }
    assert.equal(status, 201, 'the closed event gave the place back');
  } finally {
    await h.restart();
  }
});

test('a 5 MB body to /whip or /api/... is answered 413 with its JSON error before the connection closes', async () => {
  const sessionId = await publish(api);
  for (const [path, type] of [
    ['/whip', 'application/sdp'],
    [`/api/sessions/${sessionId}/recordings`, 'application/json'],
  ] as const) {
    const { status, head, body, error } = await sendLargeBody(h.url, { path, contentType: type, size: 5 * 1024 * 1024 });
    assert.equal(status, 413, `${path}: ${head}`);
    assert.equal(error, undefined, `${path}: the rest was drained and the connection closed, not reset`);
    assert.equal(code(body), 'PAYLOAD_TOO_LARGE', path);
  }
  // and with fetch, as a client library would send it
  const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: Buffer.alloc(5 * 1024 * 1024, 0x61) });
  assert.equal(response.status, 413);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
  assert.equal((await api('/healthz')).status, 200);
});

test('routes that read no body refuse an oversized one too, declared or streamed, before acting: 413, nothing changed', async () => {
  const sessionId = await publish(api);
  const started = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
  assert.equal(started.status, 201);
  const { id } = (await started.json()) as { id: string };
  const routes: Array<[string, string]> = [
    ['POST', `/api/recordings/${id}/stop`],
    ['DELETE', `/api/recordings/${id}`],
    ['GET', `/api/recordings/${id}`],
    ['GET', '/api/recordings'],
    ['DELETE', `/whip/${sessionId}`],
    ['POST', '/API/recordings'],
  ];
  for (const [method, path] of routes) {
    for (const chunked of [false, true]) {
      const { status, head, body, error } = await sendLargeBody(h.url, { method, path, contentType: 'application/json', size: 5 * 1024 * 1024, chunked });
      const what = `${method} ${path}${chunked ? ' (streamed)' : ''}`;
      assert.equal(status, 413, `${what}: ${head}`);
      assert.equal(error, undefined, `${what}: closed, not reset`);
      assert.equal(code(body), 'PAYLOAD_TOO_LARGE', what);
    }
  }
  // none of them reached its handler: the recording still runs, the session is still there
  const recording = (await (await api(`/api/recordings/${id}`)).json()) as { status: string };
  assert.equal(recording.status, 'recording');
  assert.equal((await api(`/api/sessions/${sessionId}`)).status, 200);
  // a small body on such a route is read and ignored, as before
  const stopped = await api(`/api/recordings/${id}/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(stopped.status, 200);
});

test('hundreds of anonymous WebSockets cannot lock out a client with the token, by header or by first message', async () => {
  await h.restart({
    API_TOKEN: TEST_TOKEN,
    TRUST_PROXY_HOPS: '1',
    MAX_WS_CLIENTS: '4',
    MAX_WS_UNAUTHENTICATED: '300',
    MAX_WS_UNAUTHENTICATED_PER_CLIENT: '2',
    WS_AUTH_TIMEOUT_SECONDS: '30',
  });
  const anonymous: WsTestClient[] = [];
  const openCount = () => anonymous.filter((a) => a.closeCode === undefined).length;
  try {
    // 320 sockets that never send a token, from 160 addresses (two each, as through a proxy); 300 fit the budget
    for (let batch = 0; batch < 4; batch++) {
      const attempts = await Promise.allSettled(
        Array.from({ length: 80 }, (_, i) => WsTestClient.connect(`${h.url}/ws`, { 'x-forwarded-for': `10.66.0.${(batch * 80 + i) % 160}` })),
      );
      for (const a of attempts)
        if (a.status === 'fulfilled') anonymous.push(a.value);
        else throw a.reason;
    }
    await waitUntil(() => openCount() === 300, 'the budget: 300 anonymous sockets open at once, far beyond MAX_WS_CLIENTS');
    const evicted = anonymous.filter((a) => a.closeCode !== undefined);
    assert.equal(evicted.length, 20, 'the oldest gave their place to the newest');
    assert.ok(evicted.every((a) => a.closeCode === 1013));
    await assert.rejects(
      WsTestClient.connect(`${h.url}/ws`, { 'x-forwarded-for': '10.66.0.159' }),
      (err: { status?: number }) => err.status === 429,
      'one address cannot take more than its share',
    );

    const withToken = await WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${TEST_TOKEN}`, 'x-forwarded-for': '10.88.0.1' });
    await withToken.waitFor((m) => m[0]?.type === 'ready', 'ready');
    // a browser cannot send a header: it takes an anonymous place and authenticates with its first message
    const browserLike = await WsTestClient.connect(`${h.url}/ws`, { 'x-forwarded-for': '10.88.0.2' });
    browserLike.socket.send(JSON.stringify({ type: 'auth', token: TEST_TOKEN }));
    await browserLike.waitFor((m) => m[0]?.type === 'ready', 'ready (first message)');
    const sessionId = await publish(client(() => h.url, TEST_TOKEN));
    for (const ws of [withToken, browserLike]) await ws.waitFor((m) => m.some((x) => x.type === 'session' && x.event.sessionId === sessionId), 'an event');
    for (const socket of anonymous) assert.equal(socket.messages.length, 0, 'the anonymous sockets got nothing');
    withToken.close();
    browserLike.close();
  } finally {
    for (const socket of anonymous) socket.socket.terminate();
    await h.restart();
  }
});

test('WebSocket upgrades are rate-limited per address', async () => {
  await h.restart({ API_TOKEN: TEST_TOKEN, WS_UPGRADES_PER_MINUTE: '4' });
  try {
    const first = await WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${TEST_TOKEN}` });
    await assert.rejects(WsTestClient.connect(`${h.url}/ws`, { authorization: `Bearer ${TEST_TOKEN}` }), (err: { status?: number }) => err.status === 429);
    first.close();
  } finally {
    await h.restart();
  }
});

test('readiness depends on NATS only: without media and recorders /readyz is 200 and /api/status says what is missing', async () => {
  const before = (await (await api('/api/status')).json()) as { ready: boolean; media: { instances: number }; canPublish: boolean; canRecord: boolean };
  assert.equal(before.ready, true);
  assert.equal(before.media.instances, 1);
  assert.equal(before.canPublish, true);
  assert.equal(before.canRecord, true);
  await h.media.close();
  await h.recorder.close();
  const ready = await api('/readyz');
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { checks: { nats: boolean; media: number; recorders: number }; backends: { media: { instances: number } } };
  assert.deepEqual(body.checks, { nats: true, media: 0, recorders: 0 });
  assert.equal(body.backends.media.instances, 0);
  const status = (await (await api('/api/status')).json()) as { ready: boolean; canPublish: boolean; canRecord: boolean };
  assert.deepEqual([status.ready, status.canPublish, status.canRecord], [true, false, false]);
  assert.equal((await api('/api/recordings')).status, 200, 'the catalog is still served');
});
