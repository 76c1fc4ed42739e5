// The object store full, against a real nats-server: a put that cannot fit is refused before it starts, and
// the refusal a chunk publish gets from the server is the one the recorder's process-level guard lets pass.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from 'nats';
import { openRecordingFiles, RECORDING_FILES_STREAM } from '@recstack/catalog';
import { createLogger } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { isRefusedChunkPublish, uploadFile } from './object-upload.js';

const logger = createLogger('object-upload-test', 'silent');
const run = promisify(execFile);
let nats: TestNatsServer;
let nc: NatsConnection;
let dir: string;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'recstack-upload-'));
});
after(async () => {
  await nc.close();
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a file larger than what the bucket has left is refused before any chunk is sent; what fits is stored', async () => {
  const store = await openRecordingFiles(nc, logger, { maxBytes: 512 * 1024 });
  const small = join(dir, 'small.bin');
  const large = join(dir, 'large.bin');
  await writeFile(small, Buffer.alloc(200 * 1024, 1));
  await writeFile(large, Buffer.alloc(400 * 1024, 2));
  const stored = await uploadFile(nc, store, 'small', small);
  assert.equal(stored.size, 200 * 1024);
  const jsm = await nc.jetstreamManager();
  const before = (await jsm.streams.info(RECORDING_FILES_STREAM)).state;
  await assert.rejects(
    uploadFile(nc, store, 'large', large),
    /does not fit: the object store has \d+ of its 524288 bytes \(STORAGE_MAX_BYTES\) left, the file needs about \d+/,
  );
  const afterState = (await jsm.streams.info(RECORDING_FILES_STREAM)).state;
  assert.equal(afterState.messages, before.messages, 'nothing was sent');
  assert.equal((await store.info('small'))?.size, 200 * 1024, 'the stored file is intact');
});

test('the error of a chunk the full bucket refuses is recognized as such, and other errors are not', async () => {
  const js = nc.jetstream();
  const refused = await js.publish(`$O.recording_files_v1.C.filler`, new Uint8Array(600 * 1024)).catch((err: unknown) => err);
  assert.ok(refused instanceof Error, 'the server refused the chunk');
  assert.equal(isRefusedChunkPublish(refused), true, JSON.stringify(refused));
  const noStream = await js.publish('no.such.stream.subject', new Uint8Array(1)).catch((err: unknown) => err);
  assert.ok(noStream instanceof Error);
  assert.equal(isRefusedChunkPublish(noStream), false);
  assert.equal(isRefusedChunkPublish(new Error('maximum bytes exceeded')), false);
});

test('two uploads racing for the last room: each is stored whole or fails cleanly (both may fail: the storage retries), and the process lives on', async () => {
  // in a process of its own: a stray rejection there is what would have ended the recorder
  const { stdout } = await run(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', fileURLToPath(new URL('../testing/upload-race.ts', import.meta.url)), nats.url, dir],
    { timeout: 60_000 },
  );
  const result = JSON.parse(stdout.trim()) as { outcomes: string[]; stored: Array<number | null>; refusedChunks: number };
  console.log(`race: ${JSON.stringify(result)}`);
  assert.ok(result.outcomes.filter((o) => o === 'ok').length <= 1, `both cannot fit: ${stdout}`);
  result.outcomes.forEach((outcome, i) => {
    if (outcome === 'ok') assert.equal(result.stored[i], 600 * 1024, 'a verified upload is whole');
    else {
      assert.match(outcome, /the upload of (one|two) (failed|does not fit)/);
      assert.equal(result.stored[i], null, 'nothing half-stored under a failed name');
    }
  });
});
