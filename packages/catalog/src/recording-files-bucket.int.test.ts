// STORAGE_MAX_BYTES on the files bucket, against a real nats-server: JetStream meets a lowered max_bytes by
// deleting the oldest messages, which would corrupt stored recordings; the limit is only lowered when safe.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { createLogger } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { RECORDING_FILES_STREAM, openRecordingFiles } from './index.js';

const logger = createLogger('test', 'silent');
let nats: TestNatsServer;
let nc: NatsConnection;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
after(async () => {
  await nc.close();
  await nats.stop();
});

test('the limit is set on a new bucket, raised at will, and never lowered under what the bucket holds: stored files stay intact', async () => {
  const jsm = await nc.jetstreamManager();
  const maxBytes = async () => (await jsm.streams.info(RECORDING_FILES_STREAM)).config.max_bytes;
  const store = await openRecordingFiles(nc, logger, { maxBytes: 4 * 1024 * 1024 });
  assert.equal(await maxBytes(), 4 * 1024 * 1024, 'created with the limit');
  const stored = new Uint8Array(300 * 1024).fill(3);
  await store.putBlob({ name: 'earlier' }, stored);

  await openRecordingFiles(nc, logger, { maxBytes: 100 * 1024 });
  assert.equal(await maxBytes(), 4 * 1024 * 1024, 'not lowered under what the bucket holds');
  assert.deepEqual(await store.getBlob('earlier'), stored, 'the stored file is intact');

  await openRecordingFiles(nc, logger, { maxBytes: 1024 * 1024 });
  assert.equal(await maxBytes(), 1024 * 1024, 'lowered while the bucket holds under half of it');
  await openRecordingFiles(nc, logger, { maxBytes: 8 * 1024 * 1024 });
  assert.equal(await maxBytes(), 8 * 1024 * 1024, 'raised');
  await openRecordingFiles(nc, logger, { maxBytes: 0 });
  assert.equal(await maxBytes(), -1, '0 removes the limit');
  await openRecordingFiles(nc, logger);
  assert.equal(await maxBytes(), -1, 'a reader (no maxBytes) binds the bucket as it is');
  assert.deepEqual(await store.getBlob('earlier'), stored, 'still intact');
});
