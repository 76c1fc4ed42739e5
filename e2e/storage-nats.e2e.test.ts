// STORAGE=nats through the real stack: record from the page in Chromium, the recorder moves the file into
// the JetStream object store (verified) and removes its local copy; the API and the page's player serve it
// from there, with ranges; DELETE removes the object.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { BUCKETS } from '@recstack/contracts';
import { launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertPlayableRecording } from './recording-checks.js';
import { listRecordings, recordFromPage, waitFor } from './page-recording.js';

let stack: TestStack;
let browser: TestBrowser;
let nc: NatsConnection;
let scratch: string;

before(async () => {
  stack = await startStack({ env: { STORAGE: 'nats' } });
  browser = await launchChromium();
  nc = await connect({ servers: stack.nats.url });
  scratch = await mkdtemp(join(tmpdir(), 'recstack-nats-download-'));
});

after(async () => {
  await nc?.close();
  await browser?.close();
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test('STORAGE=nats: record 8 s from the page, download from the object store through the API, the local file is gone', { timeout: 240_000 }, async () => {
  const page = await browser.context.newPage();
  const done = await recordFromPage(page, stack.baseUrl, 8);

  assert.equal(done.status, 'done', `recording failed: ${JSON.stringify(done.error)}`);
  assert.equal(done.storage, 'nats', 'the catalog says the file is in the object store');
  // the recorder's background verification reads the local copy first; it goes right after (not on the stop's path)
  await waitFor('the background verification', async () => (await listRecordings(stack.baseUrl)).find((r) => r.id === done.id && r.fileCheck != null), 60_000);
  await waitFor(
    'the local copy to go',
    async () =>
      await stat(join(stack.recordingsDir, done.fileName)).then(
        () => undefined,
        () => true,
      ),
    10_000,
  );
  await assert.rejects(stat(join(stack.recordingsDir, done.fileName)), 'no local copy is left');
  const store = await nc.jetstream().views.os(BUCKETS.recordingFiles);
  const info = await store.info(done.id);
  assert.equal(info?.size, done.sizeBytes, 'the object has the reported size');

  // download through the API, the way a user does, and check the file like a user would
  const whole = await fetch(`${stack.baseUrl}/api/recordings/${done.id}/media?download=1`);
  assert.equal(whole.status, 200);
  assert.match(whole.headers.get('content-disposition') ?? '', /^attachment;/);
  assert.equal(whole.headers.get('content-type'), 'video/mp4');
  const bytes = Buffer.from(await whole.arrayBuffer());
  assert.equal(bytes.length, done.sizeBytes);
  const path = join(scratch, done.fileName);
  await writeFile(path, bytes);
  await assertPlayableRecording(path, { video: 'h264', audio: 'aac', durationSec: 8, toleranceSec: 1.5 });

  // ranges (what players send to seek), from the middle and the end
  const middle = Math.floor(bytes.length / 2);
  for (const [start, end] of [
    [0, 99],
    [middle, Math.min(middle + 99_999, bytes.length - 1)],
    [bytes.length - 1000, bytes.length - 1],
  ] as const) {
    const part = await fetch(`${stack.baseUrl}/api/recordings/${done.id}/media`, { headers: { range: `bytes=${start}-${end}` } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(start, end + 1)), `bytes ${start}-${end}`);
  }

  // the page lists it, and its player loads the file from the object store
  const item = page.locator(`[data-recording-id="${done.id}"]`);
  await item.waitFor({ timeout: 15_000 });
  assert.equal(await item.getAttribute('data-status'), 'done');
  assert.equal(await item.locator('a[download]').count(), 1);
  const duration = await item.locator('video').evaluate(async (video: HTMLVideoElement) => {
    video.preload = 'auto';
    if (video.readyState < 1) {
      await new Promise<void>((resolve, reject) => {
        video.addEventListener('loadedmetadata', () => resolve(), { once: true });
        video.addEventListener('error', () => reject(new Error(`player error ${video.error?.code ?? '?'}`)), { once: true });
        video.load();
      });
    }
    return video.duration;
  });
  assert.ok(Math.abs(duration - 8) <= 1.5, `the player sees ${duration} s`);

  // DELETE removes the entry and the object
  assert.equal((await fetch(`${stack.baseUrl}/api/recordings/${done.id}`, { method: 'DELETE' })).status, 204);
  const gone = await store.info(done.id);
  assert.ok(gone === null || gone.deleted, 'the object is deleted');
  assert.equal(
    (await listRecordings(stack.baseUrl)).some((r) => r.id === done.id),
    false,
  );
  await page.close();
});
