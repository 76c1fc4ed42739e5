import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceError } from '@recstack/service-kit';
import { buildOpenApiDocument } from '../openapi.js';
import { TEST_OFFER, client, publish, startHarness, waitUntil, type Harness } from '../testing/harness.js';
import { ResponseValidator } from '../testing/openapi-conformance.js';

let h: Harness;
const api = client(() => h.url);
const validator = new ResponseValidator(buildOpenApiDocument({ version: 'test', authRequired: false }));
/** every response of this file is checked against the API document */
const call = async (method: string, path: string, init: RequestInit = {}) => {
  const response = await api(path, { ...init, method });
  const body = await validator.checkResponse(method, response.clone());
  return { response, body: body as Record<string, unknown> };
};

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

test('POST /whip answers 201 with the SDP answer and the session resource in Location', async () => {
  const { response } = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
  assert.equal(response.status, 201);
  assert.match(response.headers.get('content-type') ?? '', /^application\/sdp/);
  assert.match(await response.text(), /^v=0\r\n/);
  const location = response.headers.get('location') ?? '';
  const sessionId = /^\/whip\/(ses_[a-z0-9]+)$/.exec(location)?.[1];
  assert.ok(sessionId, `Location ${location}`);
  const session = await call('GET', `/api/sessions/${sessionId}`);
  assert.equal(session.response.status, 200);
  assert.equal(session.body.mediaId, h.media.mediaId);
});

test('a wrong content type is 415, whatever the body', async () => {
  for (const type of ['text/plain', 'application/json', 'application/sdp-x']) {
    const { response, body } = await call('POST', '/whip', { headers: { 'content-type': type }, body: TEST_OFFER });
    assert.equal(response.status, 415, type);
    assert.deepEqual(body, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/sdp' } });
  }
  const none = await call('POST', '/whip', { body: new Blob([TEST_OFFER]) });
  assert.equal(none.response.status, 415);
});

test('a malformed SDP is 400 with a code: obvious garbage here, deeper problems from media', async () => {
  const garbage = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: 'hello' });
  assert.equal(garbage.response.status, 400);
  assert.equal((garbage.body.error as { code: string }).code, 'BAD_REQUEST');
  assert.match((garbage.body.error as { message: string }).message, /v=0/);

  const noCodec = TEST_OFFER.split('\r\n')
    .filter((l) => !l.startsWith('a=rtpmap') && !l.startsWith('a=fmtp'))
    .join('\r\n');
  const fromMedia = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: noCodec });
  assert.equal(fromMedia.response.status, 400);
  assert.deepEqual(fromMedia.body, { error: { code: 'BAD_REQUEST', message: 'the offer has no codec (no a=rtpmap line)' } });

  const binary = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: new Uint8Array([0x76, 0x3d, 0xff, 0xfe]) });
  assert.equal(binary.response.status, 400);
});

test('an offer larger than the SDP limit is 413 and signaling keeps serving', async () => {
  const huge = TEST_OFFER + `a=x-padding:${'x'.repeat(70 * 1024)}\r\n`;
  const { response, body } = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: huge });
  assert.equal(response.status, 413);
  assert.equal((body.error as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  assert.equal((await api('/healthz')).status, 200);
});

test('DELETE /whip/{id} ends the session and finalizes its running recording', async () => {
  const sessionId = await publish(api);
  const started = await call('POST', `/api/sessions/${sessionId}/recordings`);
  assert.equal(started.response.status, 201);
  const recordingId = started.body.id as string;
  const closed = await call('DELETE', `/whip/${sessionId}`);
  assert.equal(closed.response.status, 200);
  assert.deepEqual(closed.body, { sessionId, closed: true });
  assert.deepEqual(h.media.closedSessions.at(-1), sessionId);
  const recording = await waitUntil(async () => {
    const r = (await call('GET', `/api/recordings/${recordingId}`)).body;
    return r.status === 'done' ? r : undefined;
  }, 'the recording to be finalized');
  assert.equal(recording.sizeBytes, h.recorder.fileSize);
  assert.equal((await call('GET', `/api/sessions/${sessionId}`)).response.status, 404);
  assert.equal((await call('DELETE', `/whip/${sessionId}`)).response.status, 404, 'a second DELETE finds nothing');
});

test('unknown or impossible session ids are 404 NO_SUCH_SESSION', async () => {
  for (const id of ['ses_doesnotexist', 'a.b', 'x'.repeat(65), 'ses%20x']) {
    const response = await api(`/whip/${id}`, { method: 'DELETE' });
    assert.equal(response.status, 404, id);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'NO_SUCH_SESSION');
  }
});

test('trickle ICE (PATCH) is not supported: 405 with Allow', async () => {
  const sessionId = await publish(api);
  const response = await api(`/whip/${sessionId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
    body: 'a=end-of-candidates',
  });
  assert.equal(response.status, 405);
  assert.match(response.headers.get('allow') ?? '', /DELETE/);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
});

test('media answering AT_CAPACITY or not at all gives 503 with a code and Retry-After', async () => {
  h.media.behaviour.beforeCreate = () => {
    throw new ServiceError('AT_CAPACITY', 'med_fake1 has 50 sessions');
  };
  try {
    const full = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
    assert.equal(full.response.status, 503);
    assert.equal(full.response.headers.get('retry-after'), '10');
    assert.deepEqual(full.body, { error: { code: 'AT_CAPACITY', message: 'the service is at capacity, try again later' } });
  } finally {
    delete h.media.behaviour.beforeCreate;
  }
  await h.media.close();
  try {
    const gone = await call('POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
    assert.equal(gone.response.status, 503);
    assert.equal((gone.body.error as { code: string }).code, 'MEDIA_UNAVAILABLE');
  } finally {
    await h.media.reopen();
  }
});

test("without a token, another site's page cannot drive the API (403); our own page and non-browser clients can", async () => {
  const sessionId = await publish(api);
  const foreign = await call('POST', `/api/sessions/${sessionId}/recordings`, { headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.response.status, 403);
  assert.equal((foreign.body.error as { code: string }).code, 'UNAUTHORIZED');
  const foreignWhip = await call('POST', '/whip', { headers: { origin: 'null', 'content-type': 'application/sdp' }, body: TEST_OFFER });
  assert.equal(foreignWhip.response.status, 403);
  const own = await call('POST', `/api/sessions/${sessionId}/recordings`, { headers: { origin: h.url } });
  assert.equal(own.response.status, 201);
  assert.equal((await call('POST', `/api/recordings/${own.body.id as string}/stop`)).response.status, 200, 'no Origin: curl, OBS');
  assert.equal((await api('/api/recordings', { headers: { origin: 'https://evil.example' } })).status, 200, 'reads are not refused');
});
