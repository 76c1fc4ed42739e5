import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Recording } from '@recstack/contracts';
import { ServiceError } from '@recstack/service-kit';
import { buildOpenApiDocument } from '../openapi.js';
import { client, publish, startHarness, waitUntil, type Harness } from '../testing/harness.js';
import { ResponseValidator } from '../testing/openapi-conformance.js';

let h: Harness;
const api = client(() => h.url);
const validator = new ResponseValidator(buildOpenApiDocument({ version: 'test', authRequired: false }));
const call = async (method: string, path: string, json?: unknown) => {
  const init: RequestInit = { method };
  if (json !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(json);
  }
  const response = await api(path, init);
  const body = await validator.checkResponse(method, response.clone());
  return { status: response.status, headers: response.headers, body: body as Recording & { error?: { code: string; message: string } } };
};
const start = (sessionId: string, json?: unknown) => call('POST', `/api/sessions/${sessionId}/recordings`, json);

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

test('start → 201 with the recording; stop → 200 once finalized; get and list agree', async () => {
  const sessionId = await publish(api);
  const started = await start(sessionId);
  assert.equal(started.status, 201);
  assert.equal(started.headers.get('location'), `/api/recordings/${started.body.id}`);
  assert.equal(started.body.sessionId, sessionId);
  assert.ok(['starting', 'recording'].includes(started.body.status));
  assert.equal(started.body.container, 'mp4');
  assert.equal(started.body.audioCodec, 'aac');
  assert.equal(started.body.fileName, `${started.body.id}.mp4`);
  assert.equal(started.body.mediaId, h.media.mediaId);
  assert.equal(started.body.recorderId, h.recorder.recorderId);

  await waitUntil(async () => (await call('GET', `/api/recordings/${started.body.id}`)).body.status === 'recording', 'the first keyframe');
  const stopped = await call('POST', `/api/recordings/${started.body.id}/stop`);
  assert.equal(stopped.status, 200);
  assert.equal(stopped.body.status, 'done');
  assert.equal(stopped.body.sizeBytes, h.recorder.fileSize);
  assert.ok((stopped.body.durationMs ?? -1) >= 0);
  assert.ok(stopped.body.startedAt && stopped.body.stoppedAt);
  assert.equal(stopped.body.stopReason, 'requested');
  assert.deepEqual(stopped.body.tracks.map((t) => `${t.kind}:${t.codec}`), ['video:h264', 'audio:aac']);
  assert.ok(existsSync(join(h.recordingsDir, stopped.body.fileName)));

  const again = await call('POST', `/api/recordings/${started.body.id}/stop`);
  assert.equal(again.status, 200, 'stopping a finished recording returns it');
  // mediaUrl is signed afresh on each answer (its expiry counts from the answer), so it is compared by path
  const withoutUrl = ({ mediaUrl, ...rest }: Recording & { mediaUrl?: string }) => {
    assert.match(mediaUrl ?? '', new RegExp(`^/api/recordings/${started.body.id}/media\\?expires=\\d+&sig=[\\w-]+$`));
    return rest;
  };
  assert.deepEqual(withoutUrl(again.body), withoutUrl(stopped.body));
  assert.deepEqual(withoutUrl((await call('GET', `/api/recordings/${started.body.id}`)).body), withoutUrl(stopped.body));
});

test('the list is newest first', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const sessionId = await publish(api);
    const { body } = await start(sessionId);
    ids.push(body.id);
    await call('POST', `/api/recordings/${body.id}/stop`);
  }
  const list = (await call('GET', '/api/recordings')).body as unknown as Recording[];
  const positions = ids.map((id) => list.findIndex((r) => r.id === id));
  assert.ok(positions.every((p) => p >= 0));
  assert.deepEqual([...positions].sort((a, b) => a - b), positions.reverse(), 'the last created comes first');
  for (let i = 1; i < list.length; i++) assert.ok(list[i - 1]!.createdAt >= list[i]!.createdAt);
});

test('a second start while one runs is 409; a double click starts exactly one recording', async () => {
  const sessionId = await publish(api);
  h.media.behaviour.startDelayMs = 150;
  const startsBefore = h.media.startRequests.length;
  try {
    const [a, b] = await Promise.all([start(sessionId), start(sessionId)]);
    assert.deepEqual([a.status, b.status].sort(), [201, 409]);
    const conflict = a.status === 409 ? a : b;
    assert.equal(conflict.body.error?.code, 'ALREADY_RECORDING');
    assert.equal(h.media.startRequests.length - startsBefore, 1, 'media was asked once');
  } finally {
    h.media.behaviour.startDelayMs = 0;
  }
  const third = await start(sessionId);
  assert.equal(third.status, 409);
  const list = ((await call('GET', '/api/recordings')).body as unknown as Recording[]).filter((r) => r.sessionId === sessionId);
  assert.equal(list.length, 1, 'no entry is left behind by the refused starts');
  await call('POST', `/api/recordings/${list[0]!.id}/stop`);
  const next = await start(sessionId);
  assert.equal(next.status, 201, 'after a stop the session can record again');
  await call('POST', `/api/recordings/${next.body.id}/stop`);
});

test('when media itself refuses a second recording the entry is removed and the answer is 409', async () => {
  const sessionId = await publish(api);
  h.media.behaviour.beforeStart = () => {
    throw new ServiceError('ALREADY_RECORDING', 'session is recording (seen by another signaling)');
  };
  try {
    const refused = await start(sessionId);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, 'ALREADY_RECORDING');
  } finally {
    delete h.media.behaviour.beforeStart;
  }
  const list = ((await call('GET', '/api/recordings')).body as unknown as Recording[]).filter((r) => r.sessionId === sessionId);
  assert.deepEqual(list, []);
});

test('a start media cannot do marks the recording failed and answers with the mapped error', async () => {
  const sessionId = await publish(api);
  h.media.behaviour.beforeStart = () => {
    throw new ServiceError('RECORDER_UNAVAILABLE', 'no responders on recorder.v1.start');
  };
  try {
    const failed = await start(sessionId);
    assert.equal(failed.status, 503);
    assert.deepEqual(failed.body, { error: { code: 'RECORDER_UNAVAILABLE', message: 'no recorder is available' } });
  } finally {
    delete h.media.behaviour.beforeStart;
  }
  const [entry] = ((await call('GET', '/api/recordings')).body as unknown as Recording[]).filter((r) => r.sessionId === sessionId);
  assert.equal(entry?.status, 'failed');
  assert.equal(entry?.error?.code, 'RECORDER_UNAVAILABLE');
  const retry = await start(sessionId);
  assert.equal(retry.status, 201, 'a failed recording does not block the session');
  await call('POST', `/api/recordings/${retry.body.id}/stop`);
});

test('unknown sessions and recordings are 404 with their code', async () => {
  assert.equal((await start('ses_nope')).body.error?.code, 'NO_SUCH_SESSION');
  assert.equal((await start('ses_nope')).status, 404);
  for (const [method, path] of [
    ['GET', '/api/recordings/rec_nope'],
    ['POST', '/api/recordings/rec_nope/stop'],
    ['DELETE', '/api/recordings/rec_nope'],
    ['GET', '/api/recordings/rec_nope/media'],
    ['GET', '/api/recordings/no.such'],
  ] as const) {
    const r = await call(method, path);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.body.error?.code, 'NO_SUCH_RECORDING', `${method} ${path}`);
  }
  assert.equal((await call('GET', '/api/sessions/ses_nope')).status, 404);
  assert.equal((await api('/api/nothing-here')).status, 404);
});

test('bad start bodies: 400 for invalid JSON or fields, 400 UNSUPPORTED_FORMAT, 415 for other types', async () => {
  const sessionId = await publish(api);
  const unknownField = await start(sessionId, { container: 'mp4', colour: 'blue' });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.body.error?.code, 'BAD_REQUEST');
  const badContainer = await start(sessionId, { container: 'avi' });
  assert.equal(badContainer.status, 400);
  assert.match(badContainer.body.error?.message ?? '', /container/);
  const impossible = await start(sessionId, { container: 'webm' });
  assert.equal(impossible.status, 400);
  assert.equal(impossible.body.error?.code, 'UNSUPPORTED_FORMAT');
  assert.match(impossible.body.error?.message ?? '', /H264 video cannot be written to webm/);
  const notJson = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"container":' });
  assert.equal(notJson.status, 400);
  const text = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'mp4' });
  assert.equal(text.status, 415);
  const mkv = await start(sessionId, { container: 'mkv', audioCodec: 'opus' });
  assert.equal(mkv.status, 201);
  assert.equal(mkv.body.fileName, `${mkv.body.id}.mkv`);
  assert.equal(mkv.body.audioCodec, 'opus');
  await call('POST', `/api/recordings/${mkv.body.id}/stop`);
});

test('DELETE stops a running recording first, then removes its file and entry', async () => {
  const sessionId = await publish(api);
  const { body } = await start(sessionId);
  const removed = await call('DELETE', `/api/recordings/${body.id}`);
  assert.equal(removed.status, 204);
  assert.ok(h.recorder.stops.includes(body.id), 'the recorder finalized it before the delete');
  assert.equal(existsSync(join(h.recordingsDir, body.fileName)), false, 'the file is gone');
  assert.equal((await call('GET', `/api/recordings/${body.id}`)).status, 404);
  assert.equal((await start(sessionId)).status, 201, 'the session is free again');
});

test('stop asks the recorder directly when the media instance is gone', async () => {
  const sessionId = await publish(api);
  const { body } = await start(sessionId);
  await h.media.close();
  try {
    const stopped = await call('POST', `/api/recordings/${body.id}/stop`);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.status, 'done');
    assert.ok(h.recorder.stops.includes(body.id));
  } finally {
    h.media.recordingOf.delete(sessionId);
    await h.media.reopen();
  }
});

test('a recording nobody holds any more is marked failed on stop, not left running', async () => {
  const sessionId = await publish(api);
  const { body } = await start(sessionId);
  await h.media.close();
  await h.recorder.close();
  try {
    const stopped = await call('POST', `/api/recordings/${body.id}/stop`);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.status, 'failed');
    assert.equal(stopped.body.error?.code, 'RECORDER_UNAVAILABLE');
  } finally {
    h.media.recordingOf.delete(sessionId);
    h.recorder.active.delete(body.id);
    await h.media.reopen();
    await h.recorder.reopen();
  }
});

test('a stop that media answers with the recording\'s failure gives 200 with the failed recording', async () => {
  const sessionId = await publish(api);
  const { body } = await start(sessionId);
  h.media.behaviour.beforeStop = () => {
    throw new ServiceError('RECORDER_FAILED', 'gst-launch-1.0 exited with 1: /tmp/x: No space left on device');
  };
  try {
    const stopped = await call('POST', `/api/recordings/${body.id}/stop`);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.status, 'failed');
    assert.deepEqual(stopped.body.error, { code: 'RECORDER_FAILED', message: 'the recorder failed' }, 'no child output reaches the client');
  } finally {
    delete h.media.behaviour.beforeStop;
    h.media.recordingOf.delete(sessionId);
    h.recorder.active.delete(body.id);
  }
});

test('a stop media does not answer in time is 504 and leaves the recording to be finalized', async () => {
  const sessionId = await publish(api);
  const { body } = await start(sessionId);
  h.media.behaviour.beforeStop = () => new Promise((r) => setTimeout(r, 3000));
  try {
    const stopped = await call('POST', `/api/recordings/${body.id}/stop`);
    assert.equal(stopped.status, 504);
    assert.equal(stopped.body.error?.code, 'TIMEOUT');
    assert.equal((await call('GET', `/api/recordings/${body.id}`)).body.status, 'stopping');
  } finally {
    delete h.media.behaviour.beforeStop;
  }
  await h.recorder.finish(body.id, 'requested');
  h.media.recordingOf.delete(sessionId);
  const again = await call('POST', `/api/recordings/${body.id}/stop`);
  assert.equal(again.body.status, 'done', 'once the recorder finalized it, the stop answers with it');
});

test('a stop (or delete) that arrives while the start is in flight waits for it, then stops the recording', async () => {
  const sessionId = await publish(api);
  h.media.behaviour.startDelayMs = 300;
  try {
    const starting = start(sessionId);
    const entry = await waitUntil(async () => ((await call('GET', '/api/recordings')).body as unknown as Recording[]).find((r) => r.sessionId === sessionId), 'the entry');
    assert.equal(entry.status, 'starting');
    const stopped = await call('POST', `/api/recordings/${entry.id}/stop`);
    assert.equal((await starting).status, 201);
    assert.equal(stopped.status, 200);
    assert.equal(stopped.body.status, 'done');
    assert.ok(h.recorder.stops.includes(entry.id));
  } finally {
    h.media.behaviour.startDelayMs = 0;
  }
});
