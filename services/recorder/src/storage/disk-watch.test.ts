import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@recstack/service-kit';
import { assertRoomToStart, copyWontFit, InsufficientStorageError } from './disk-space.js';
import { DiskWatch, type WatchedFile } from './disk-watch.js';

// the free space is scripted here (only the threshold arithmetic is under test); the real folder is in
// recorder-disk.int.test.ts
const logger = createLogger('disk-watch-test', 'silent');
const MIB = 1024 * 1024;

function watched(path: string, ended: string[]): WatchedFile {
  return { recordingId: 'rec_1', path, end: (reason) => ended.push(reason) };
}

test('disk-full: ends recordings when free space will be under the floor at the next look, not only after', async () => {
  const free = [100 * MIB, 70 * MIB, 45 * MIB];
  const ended: string[] = [];
  const watch = new DiskWatch(
    { dir: '/x', intervalMs: 1000, minFreeBytes: 50 * MIB, stopFreeBytes: 10 * MIB, maxFileBytes: 0 },
    () => [watched('/nonexistent', ended)],
    logger,
    async () => free.shift() ?? 0,
  );
  await watch.check(); // 100 MiB, no trend yet
  assert.deepEqual(ended, []);
  await watch.check(); // 70 MiB, falling 30 MiB a look: 10 MiB in two looks, still at the floor
  assert.deepEqual(ended, []);
  await watch.check(); // 45 MiB, falling 25: under the floor within two looks
  assert.deepEqual(ended, ['disk-full']);
});

test('max-size: ends a file before it passes the limit; no limit when 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstack-watch-'));
  try {
    const path = join(dir, 'rec.webm');
    const ended: string[] = [];
    const watch = new DiskWatch(
      { dir, intervalMs: 1000, minFreeBytes: 0, stopFreeBytes: 0, maxFileBytes: 1000 },
      () => [watched(path, ended)],
      logger,
      async () => 10 * MIB,
    );
    await writeFile(path, Buffer.alloc(300));
    await watch.check();
    assert.deepEqual(ended, []);
    await writeFile(path, Buffer.alloc(500)); // +200 a look: 900 at the next look, under 1000
    await watch.check();
    assert.deepEqual(ended, []);
    await writeFile(path, Buffer.alloc(700)); // +200: 1100 within two looks
    await watch.check();
    assert.deepEqual(ended, ['max-size']);

    const unlimited: string[] = [];
    const free = new DiskWatch(
      { dir, intervalMs: 1000, minFreeBytes: 0, stopFreeBytes: 0, maxFileBytes: 0 },
      () => [watched(path, unlimited)],
      logger,
      async () => 10 * MIB,
    );
    await free.check();
    assert.deepEqual(unlimited, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a start needs RECORDER_MIN_FREE_BYTES; a copy needs its size plus what must stay free', async () => {
  const limits = { minFreeBytes: 100, stopFreeBytes: 10, maxFileBytes: 0 };
  await assertRoomToStart('/x', limits, async () => 100);
  await assert.rejects(
    assertRoomToStart('/x', limits, async () => 99),
    (err: unknown) => err instanceof InsufficientStorageError && err.code === 'INSUFFICIENT_STORAGE',
  );

  const dir = await mkdtemp(join(tmpdir(), 'recstack-copy-'));
  try {
    const source = join(dir, 'rec.mp4');
    await writeFile(source, Buffer.alloc(1000));
    assert.equal(await copyWontFit(source, dir, 500, async () => 1500), undefined);
    assert.match((await copyWontFit(source, dir, 500, async () => 1499)) ?? '', /not enough free space for the rewrite/);
    // several files written into one (a segment join): their sizes add up
    const other = join(dir, 'rec-s1.mp4');
    await writeFile(other, Buffer.alloc(700));
    assert.equal(await copyWontFit([source, other], dir, 500, async () => 2200, 'joining the segments'), undefined);
    assert.match(
      (await copyWontFit([source, other], dir, 500, async () => 2199, 'joining the segments')) ?? '',
      /^not enough free space for joining the segments \(1\.7 KiB to copy/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
