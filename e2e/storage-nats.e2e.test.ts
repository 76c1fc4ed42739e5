// STORAGE=nats through the real stack: record from the page in Chromium, the recorder moves the file into
// the JetStream object store (verified) and removes its local copy; the API and the page's player serve it
// from there, with ranges; DELETE removes the object.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { BUCKETS, RecordingSchema, type Recording } from '@recstack/contracts';
import { launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertPlayableRecording } from './recording-checks.js';

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

async function recordings(): Promise<Recording[]> {
  const res = await fetch(`${stack.baseUrl}/api/recordings`);
  assert.equal(res.status, 200);
  return ((await res.json()) as unknown[]).map((r) => RecordingSchema.parse(r));
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('STORAGE=nats: record 8 s from the page, download from the object store through the API, the local file is gone', { timeout: 240_000 }, async () => {
  const page = await browser.context.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
  await page.goto(stack.baseUrl);
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>('#preview');
    return v !== null && v.readyState >= 2 && v.videoWidth > 0;
  }, undefined, { timeout: 30_000 });
  await page.locator('#record').click();
  const started = await waitFor('the recording to start', async () => (await recordings()).find((r) => r.status === 'recording'), 30_000);
  await page.waitForTimeout(8_000);
  await page.locator('#stop').click();
  const done = await waitFor('the recording to be finalized', async () => {
    const r = (await recordings()).find((x) => x.id === started.id);
    return r && (r.status === 'done' || r.status === 'failed') ? r : undefined;
  }, 60_000);

  assert.equal(done.status, 'done', `recording failed: ${JSON.stringify(done.error)}`);
  assert.equal(done.storage, 'nats', 'the catalog says the file is in the object store');
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
  for (const [start, end] of [[0, 99], [200_000, 333_333], [bytes.length - 1000, bytes.length - 1]] as const) {
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
  assert.equal((await recordings()).some((r) => r.id === done.id), false);
  await page.close();
});
