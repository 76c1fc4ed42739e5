import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import type { Recording } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { RecordingCatalog, markFirstKeyframe, markStopping, applyReport, newRecording, type CatalogChange } from './index.js';

let server: TestNatsServer;
let nc: NatsConnection;
let catalog: RecordingCatalog;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  catalog = await RecordingCatalog.open(nc, createLogger('test', 'silent'));
});
after(async () => {
  await nc.close();
  await server.stop();
});

function recording(id: string, createdAt = new Date()): Recording {
  return newRecording({ id, sessionId: 'ses_1', mediaId: 'med_1', container: 'mp4', audioCodec: 'aac', at: createdAt });
}

test('create, get, list newest first, remove', async () => {
  await catalog.create(recording('rec_a', new Date(Date.now() - 1000)));
  await catalog.create(recording('rec_b'));
  await assert.rejects(catalog.create(recording('rec_a')), /already exists/);
  assert.equal((await catalog.get('rec_a'))?.status, 'starting');
  assert.deepEqual(
    (await catalog.list()).map((r) => r.id),
    ['rec_b', 'rec_a'],
  );
  assert.equal(await catalog.remove('rec_a'), true);
  assert.equal(await catalog.remove('rec_a'), false);
  assert.equal(await catalog.get('rec_a'), undefined);
  assert.deepEqual(
    (await catalog.list()).map((r) => r.id),
    ['rec_b'],
  );
});

test('concurrent writers all land and status never moves backwards', async () => {
  await catalog.create(recording('rec_c'));
  const at = new Date();
  const report = {
    recordingId: 'rec_c',
    sessionId: 'ses_1',
    recorderId: 'rcd_1',
    status: 'done' as const,
    fileName: 'rec_c.mp4',
    sizeBytes: 10,
    durationMs: 8000,
    container: 'mp4' as const,
    audioCodec: 'aac' as const,
    tracks: [],
    decodesCleanly: true,
    startedAt: at.toISOString(),
    stoppedAt: at.toISOString(),
    reason: 'requested' as const,
  };
  await Promise.all([
    catalog.update('rec_c', (r) => markFirstKeyframe(r, at)),
    catalog.update('rec_c', (r) => markStopping(r, 'requested', at)),
    catalog.update('rec_c', (r) => ({ ...r, recorderId: 'rcd_1' })),
  ]);
  await catalog.update('rec_c', (r) => applyReport(r, report, at));
  const late = await catalog.update('rec_c', (r) => ({ ...r, status: 'recording' }));
  assert.equal(late?.status, 'done');
  const final = await catalog.get('rec_c');
  assert.equal(final?.status, 'done');
  assert.equal(final?.recorderId, 'rcd_1');
  assert.equal(final?.startedAt, at.toISOString());
  assert.equal(final?.durationMs, 8000);
  assert.equal(await catalog.update('rec_missing', (r) => r), undefined);
});

test('watch delivers changes in order', async () => {
  const seen: CatalogChange[] = [];
  const stop = await catalog.watch((c) => seen.push(c));
  await catalog.create(recording('rec_w'));
  await catalog.update('rec_w', (r) => markFirstKeyframe(r, new Date()));
  await catalog.update('rec_w', (r) => markStopping(r, 'requested', new Date()));
  await catalog.remove('rec_w');
  const deadline = Date.now() + 5000;
  while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  stop();
  assert.deepEqual(
    seen.map((c) => (c.type === 'put' ? c.recording.status : 'deleted')),
    ['starting', 'recording', 'stopping', 'deleted'],
  );
});
