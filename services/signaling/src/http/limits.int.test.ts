import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceError } from '@recstack/service-kit';
import { buildOpenApiDocument } from '../openapi.js';
import { TEST_OFFER, client, publish, startHarness, type Harness } from '../testing/harness.js';
import { ResponseValidator } from '../testing/openapi-conformance.js';
import { WsTestClient } from '../testing/ws-client.js';

let h: Harness;
const api = client(() => h.url);
const validator = new ResponseValidator(buildOpenApiDocument({ version: 'test', authRequired: false }));
const errorOf = async (method: string, response: Response) =>
  ((await validator.checkResponse(method, response)) as { error: { code: string; message: string } }).error;

before(async () => {
  h = await startHarness({ MAX_SDP_BYTES: '2048', MAX_JSON_BODY_BYTES: '256', MAX_WS_CLIENTS: '2' });
});
after(async () => {
  await h.close();
});

test('an SDP over MAX_SDP_BYTES is 413 PAYLOAD_TOO_LARGE, declared or streamed', async () => {
  const big = TEST_OFFER + `a=x-pad:${'x'.repeat(3000)}\r\n`;
  const declared = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: big });
  assert.equal(declared.status, 413);
  assert.deepEqual(await errorOf('POST', declared), { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is larger than 2048 bytes' });

  // no Content-Length: the limit is enforced while reading
  const chunks = [TEST_OFFER, 'a=x-pad:', 'y'.repeat(1500), 'y'.repeat(1500), '\r\n'];
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(next));
    },
  });
  const streamed = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: stream, duplex: 'half' });
  assert.equal(streamed.status, 413);
  assert.equal((await errorOf('POST', streamed)).code, 'PAYLOAD_TOO_LARGE');
  assert.equal((await api('/healthz')).status, 200);
  await publish(api);
});

test('a JSON body over MAX_JSON_BODY_BYTES is 413', async () => {
  const sessionId = await publish(api);
  const response = await api(`/api/sessions/${sessionId}/recordings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ container: 'mp4', padding: 'x'.repeat(500) }),
  });
  assert.equal(response.status, 413);
  assert.equal((await errorOf('POST', response)).code, 'PAYLOAD_TOO_LARGE');
});

test('media or recorders at capacity: 503 AT_CAPACITY with Retry-After', async () => {
  h.media.behaviour.beforeCreate = () => {
    throw new ServiceError('AT_CAPACITY', 'MAX_SESSIONS reached');
  };
  try {
    const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
    assert.equal(response.status, 503);
    assert.ok(Number(response.headers.get('retry-after')) > 0);
    assert.equal((await errorOf('POST', response)).code, 'AT_CAPACITY');
  } finally {
    delete h.media.behaviour.beforeCreate;
  }
  const sessionId = await publish(api);
  h.media.behaviour.beforeStart = () => {
    throw new ServiceError('AT_CAPACITY', 'every recorder has MAX_RECORDINGS');
  };
  try {
    const response = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
    assert.equal(response.status, 503);
    assert.equal((await errorOf('POST', response)).code, 'AT_CAPACITY');
  } finally {
    delete h.media.behaviour.beforeStart;
  }
});

test('no recorder with free disk space: 507 INSUFFICIENT_STORAGE with a fixed message, no Retry-After', async () => {
  const sessionId = await publish(api);
  h.media.behaviour.beforeStart = () => {
    throw new ServiceError('INSUFFICIENT_STORAGE', 'rcd_x has 12 MiB free in /var/lib/recordings');
  };
  try {
    const response = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
    assert.equal(response.status, 507);
    assert.equal(response.headers.get('retry-after'), null);
    assert.deepEqual(await errorOf('POST', response), {
      code: 'INSUFFICIENT_STORAGE',
      message: 'no recorder has enough free disk space for another recording',
    });
  } finally {
    delete h.media.behaviour.beforeStart;
  }
});

test('WebSocket clients beyond MAX_WS_CLIENTS are refused with 503', async () => {
  const a = await WsTestClient.connect(`${h.url}/ws`);
  const b = await WsTestClient.connect(`${h.url}/ws`);
  try {
    await assert.rejects(WsTestClient.connect(`${h.url}/ws`), (err: { status?: number }) => err.status === 503);
  } finally {
    a.close();
    b.close();
    await a.closed();
    await b.closed();
  }
});

test('too many changing requests from one client: 429 RATE_LIMITED with Retry-After; reads are not limited', async () => {
  await h.restart({ RATE_LIMIT_PER_MINUTE: '8' });
  const statuses: number[] = [];
  let limited: Response | undefined;
  for (let i = 0; i < 5; i++) {
    const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
    statuses.push(response.status);
    if (response.status === 429) limited = response;
    else await response.arrayBuffer();
  }
  assert.deepEqual(statuses.slice(0, 2), [201, 201], 'a burst of two passes');
  assert.ok(limited, `one was limited: ${statuses.join(',')}`);
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.equal((await errorOf('POST', limited)).code, 'RATE_LIMITED');
  for (let i = 0; i < 10; i++) assert.equal((await api('/api/recordings')).status, 200);
  await h.restart();
});
