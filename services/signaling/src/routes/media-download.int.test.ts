import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUCKETS, type Recording } from '@recstack/contracts';
import { buildOpenApiDocument } from '../openapi.js';
import { fakeFileBytes } from '../testing/fake-backends.js';
import { client, publish, startHarness, type Harness } from '../testing/harness.js';
import { ResponseValidator } from '../testing/openapi-conformance.js';

let h: Harness;
let done: Recording;
const api = client(() => h.url);
const validator = new ResponseValidator(buildOpenApiDocument({ version: 'test', authRequired: false }));
const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
  const response = await api(path, { method, headers });
  const bytes = Buffer.from(await response.clone().arrayBuffer());
  await validator.checkResponse(method, response);
  return { response, bytes };
};

before(async () => {
  h = await startHarness();
  h.recorder.fileSize = 250_000;
  const sessionId = await publish(api);
  const started = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
  done = (await (await api(`/api/recordings/${started.id}/stop`, { method: 'POST' })).json()) as Recording;
  assert.equal(done.status, 'done');
});
after(async () => {
  await h.close();
});

const file = () => fakeFileBytes(250_000);

test('the whole file with its media type, length and Accept-Ranges', async () => {
  const { response, bytes } = await get(`/api/recordings/${done.id}/media`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'video/mp4');
  assert.equal(response.headers.get('content-length'), '250000');
  assert.equal(response.headers.get('accept-ranges'), 'bytes');
  assert.match(response.headers.get('content-disposition') ?? '', new RegExp(`^inline; filename="${done.fileName}"$`));
  assert.ok(bytes.equals(file()));
  const download = await get(`/api/recordings/${done.id}/media?download=1`);
  assert.match(download.response.headers.get('content-disposition') ?? '', /^attachment;/);
});

test('Range requests are answered 206 with exactly the bytes asked for', async () => {
  const cases: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=1000-1999', 1000, 1999],
    ['bytes=249900-', 249_900, 249_999],
    ['bytes=-500', 249_500, 249_999],
    ['bytes=249990-999999', 249_990, 249_999],
  ];
  for (const [range, start, end] of cases) {
    const { response, bytes } = await get(`/api/recordings/${done.id}/media`, { range });
    assert.equal(response.status, 206, range);
    assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/250000`, range);
    assert.equal(response.headers.get('content-length'), String(end - start + 1), range);
    assert.ok(bytes.equals(file().subarray(start, end + 1)), `${range}: the right bytes`);
  }
});

test('a range outside the file is 416 with the size in Content-Range', async () => {
  const { response, bytes } = await get(`/api/recordings/${done.id}/media`, { range: 'bytes=250000-' });
  assert.equal(response.status, 416);
  assert.equal(response.headers.get('content-range'), 'bytes */250000');
  assert.equal((JSON.parse(bytes.toString()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
});

test('HEAD gives the headers without a body; If-Range with an old validator gets the whole file', async () => {
  const head = await get(`/api/recordings/${done.id}/media`, {}, 'HEAD');
  assert.equal(head.response.status, 200);
  assert.equal(head.response.headers.get('content-length'), '250000');
  assert.equal(head.bytes.length, 0);
  const etag = head.response.headers.get('etag') ?? '';
  assert.ok(etag);
  const partialHead = await get(`/api/recordings/${done.id}/media`, { range: 'bytes=0-9' }, 'HEAD');
  assert.equal(partialHead.response.status, 206);
  assert.equal(partialHead.response.headers.get('content-length'), '10');

  const current = await get(`/api/recordings/${done.id}/media`, { range: 'bytes=0-9', 'if-range': etag });
  assert.equal(current.response.status, 206);
  const stale = await get(`/api/recordings/${done.id}/media`, { range: 'bytes=0-9', 'if-range': '"old"' });
  assert.equal(stale.response.status, 200);
  assert.equal(stale.bytes.length, 250_000);
});

test('a running recording has no file to download yet (409); a missing file is 404', async () => {
  const sessionId = await publish(api);
  const running = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
  const early = await get(`/api/recordings/${running.id}/media`);
  assert.equal(early.response.status, 409);
  const stopped = (await (await api(`/api/recordings/${running.id}/stop`, { method: 'POST' })).json()) as Recording;
  await rm(join(h.recordingsDir, stopped.fileName));
  const missing = await get(`/api/recordings/${running.id}/media`);
  assert.equal(missing.response.status, 404);
  assert.equal((JSON.parse(missing.bytes.toString()) as { error: { code: string } }).error.code, 'NOT_FOUND');
});

test('a catalog entry can never make signaling serve a file outside the recordings folder', async () => {
  const outside = join(h.recordingsDir, '..', `recstack-secret-${process.pid}.txt`);
  await writeFile(outside, 'secret');
  try {
    const now = new Date().toISOString();
    const base: Recording = { ...done, id: 'rec_evil1', createdAt: now, updatedAt: now };
    await h.catalog.create({ ...base, id: 'rec_evil1', fileName: '../etc/passwd' }).catch(() => undefined);
    const traversal = await get('/api/recordings/rec_evil1/media');
    assert.equal(traversal.response.status, 500);
    assert.doesNotMatch(traversal.bytes.toString(), /secret|passwd|\.\./);

    await symlink(outside, join(h.recordingsDir, 'rec_evil2.mp4'));
    await h.catalog.create({ ...base, id: 'rec_evil2', fileName: 'rec_evil2.mp4' });
    const viaLink = await get('/api/recordings/rec_evil2/media');
    assert.equal(viaLink.response.status, 500);
    assert.doesNotMatch(viaLink.bytes.toString(), /secret/);
  } finally {
    await rm(outside, { force: true });
  }
});

test('STORAGE=nats: the file is streamed from the object store, with ranges across chunks, and deleted with the entry', async () => {
  const bytes = fakeFileBytes(50_000);
  const store = await h.testNc.jetstream().views.os(BUCKETS.recordingFiles);
  const now = new Date().toISOString();
  const recording: Recording = {
    ...done,
    id: 'rec_innats1',
    fileName: 'rec_innats1.mp4',
    storage: 'nats',
    createdAt: now,
    updatedAt: now,
    sizeBytes: bytes.length,
  };
  // small chunks, so ranges start and end inside and across them
  await store.put({ name: recording.id, options: { max_chunk_size: 4096 } }, new Blob([bytes]).stream() as ReadableStream<Uint8Array>);
  await h.catalog.create(recording);

  const whole = await get(`/api/recordings/${recording.id}/media`);
  assert.equal(whole.response.status, 200);
  assert.equal(whole.response.headers.get('content-length'), '50000');
  assert.ok(whole.bytes.equals(bytes));
  for (const [start, end] of [
    [0, 0],
    [4000, 9000],
    [4096, 8191],
    [49_999, 49_999],
    [12_345, 49_999],
  ] as const) {
    const part = await get(`/api/recordings/${recording.id}/media`, { range: `bytes=${start}-${end}` });
    assert.equal(part.response.status, 206);
    assert.equal(part.response.headers.get('content-range'), `bytes ${start}-${end}/50000`);
    assert.ok(part.bytes.equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
  }
  assert.equal((await get(`/api/recordings/${recording.id}/media`, { range: 'bytes=50000-' })).response.status, 416);

  assert.equal((await api(`/api/recordings/${recording.id}`, { method: 'DELETE' })).status, 204);
  const info = await store.info(recording.id);
  assert.ok(info === null || info.deleted, 'the object is gone');
  const missing = { ...recording, id: 'rec_innats2' };
  await h.catalog.create(missing);
  assert.equal((await get(`/api/recordings/${missing.id}/media`)).response.status, 404, 'an entry without its object');
});
