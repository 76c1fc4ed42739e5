/**
 * Test support, not product code: two uploads racing for the last room of the files bucket, in a process of
 * its own with the recorder's rule for stray rejections (main.ts): refused chunks are let pass, anything
 * else ends the process with code 3. Prints what happened as one JSON line.
 * Usage: upload-race.ts <nats url> <folder>
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'nats';
import { RECORDING_FILES_STREAM, openRecordingFiles } from '@recstack/catalog';
import { createLogger } from '@recstack/service-kit';
import { isRefusedChunkPublish, uploadFile } from '../storage/object-upload.js';

const [url = '', dir = ''] = process.argv.slice(2);
let refusedChunks = 0;
process.on('unhandledRejection', (reason) => {
  if (isRefusedChunkPublish(reason)) {
    refusedChunks++;
    return;
  }
  process.stderr.write(`unexpected rejection: ${String(reason)}\n`);
  process.exit(3);
});

const nc = await connect({ servers: url });
const jsm = await nc.jetstreamManager();
await jsm.streams.delete(RECORDING_FILES_STREAM).catch(() => undefined);
const store = await openRecordingFiles(nc, createLogger('upload-race', 'silent'), { maxBytes: 900 * 1024 });
const names = ['one', 'two'];
await Promise.all(names.map((name, i) => writeFile(join(dir, `${name}.bin`), Buffer.alloc(600 * 1024, i + 1))));
// both look at the bucket before either has sent a chunk: each fits alone, not both
const results = await Promise.allSettled(names.map((name) => uploadFile(nc, store, name, join(dir, `${name}.bin`))));
await new Promise((r) => setTimeout(r, 500));
const stored = await Promise.all(names.map(async (name) => (await store.getBlob(name).catch(() => null))?.length ?? null));
process.stdout.write(`${JSON.stringify({ outcomes: results.map((r) => (r.status === 'fulfilled' ? 'ok' : String(r.reason))), stored, refusedChunks })}\n`);
await nc.close();
