// Downloads from the object store (STORAGE=nats): exact bytes for every range, reading from the chunk that
// holds the range's first byte when the object's chunks are consecutive in the stream, and from the start
// (skipping) when concurrent uploads interleaved them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { BUCKETS } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { NatsObjectFiles } from './nats-object-files.js';

let server: TestNatsServer;
let nc: NatsConnection;
const lines: Array<Record<string, unknown>> = [];
/** Keeps what the reader logs, so the tests can see where each range read started. */
const record = (obj: Record<string, unknown>, msg: string) => void lines.push({ ...obj, msg });
const logger = { debug: record, info: record, warn: record, error: record, child: () => logger } as unknown as Logger;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
after(async () => {
  await nc.close();
  await server.stop();
});

function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

async function readAll(files: NatsObjectFiles, id: string, range?: { start: number; end: number }): Promise<Buffer> {
  const file = await files.find({ id });
  assert.ok(file, `${id} exists`);
  const parts: Buffer[] = [];
  for await (const part of file.open(range)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function skipped(id: string, start: number): unknown {
  return [...lines].reverse().find((l) => l.msg === 'object read' && l.recordingId === id && l.start === start)?.skippedBytes;
}

test('without STORAGE=nats and without a bucket there is nothing to find; with it the bucket is created', async () => {
  const reader = new NatsObjectFiles(nc, logger);
  assert.equal(await reader.find({ id: 'rec_none' }), undefined);
  const creator = new NatsObjectFiles(nc, logger, { create: true, replicas: 1 });
  assert.ok(await creator.open());
  assert.equal(await creator.find({ id: 'rec_none' }), undefined);
  assert.equal(await reader.find({ id: 'rec_none' }), undefined, 'binds the bucket once it exists');
});

test('ranges of an object whose chunks are consecutive start at the right chunk and return exactly their bytes', async () => {
  const files = new NatsObjectFiles(nc, logger, { create: true });
  const store = await nc.jetstream().views.os(BUCKETS.recordingFiles);
  const data = bytes(300_000, 1);
  await store.put({ name: 'rec_seq', options: { max_chunk_size: 16_384 } }, new Blob([data]).stream() as ReadableStream<Uint8Array>);
  assert.ok(Buffer.from(data).equals(await readAll(files, 'rec_seq')));
  for (const [start, end] of [[1, 1], [16_383, 16_384], [16_384, 40_000], [150_000, 299_999], [299_999, 299_999], [200_001, 200_100]] as const) {
    const got = await readAll(files, 'rec_seq', { start, end });
    assert.ok(Buffer.from(data.subarray(start, end + 1)).equals(got), `bytes ${start}-${end}`);
    assert.equal(skipped('rec_seq', start), Math.floor(start / 16_384) * 16_384, `bytes ${start}-${end} read from their chunk`);
  }
});

test('ranges of objects uploaded at the same time (interleaved chunks) are read from the start and still exact', async () => {
  const files = new NatsObjectFiles(nc, logger, { create: true });
  const store = await nc.jetstream().views.os(BUCKETS.recordingFiles);
  const a = bytes(200_000, 2);
  const b = bytes(200_000, 3);
  const slow = (data: Uint8Array) => {
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        await new Promise((r) => setTimeout(r, 2));
        if (offset >= data.length) return controller.close();
        controller.enqueue(data.subarray(offset, offset + 8192));
        offset += 8192;
      },
    });
  };
  await Promise.all([store.put({ name: 'rec_a', options: { max_chunk_size: 8192 } }, slow(a)), store.put({ name: 'rec_b', options: { max_chunk_size: 8192 } }, slow(b))]);
  for (const [id, data] of [['rec_a', a], ['rec_b', b]] as const) {
    assert.ok(Buffer.from(data).equals(await readAll(files, id)));
    const got = await readAll(files, id, { start: 123_456, end: 199_999 });
    assert.ok(Buffer.from(data.subarray(123_456)).equals(got), `${id}: the tail`);
  }
  const seeks = [skipped('rec_a', 123_456), skipped('rec_b', 123_456)];
  assert.ok(seeks.includes(0), `interleaved chunks are not seeked into (skipped ${seeks.join(', ')})`);
});
