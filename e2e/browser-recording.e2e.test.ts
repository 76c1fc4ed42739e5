// The product's promise, as a user lives it: open the page, press Record, wait, press Stop, get a playable
// file. Real nats-server, real signaling/media/recorder processes, real headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { RecordingSchema, type Recording } from '@recstack/contracts';
import { launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertPlayableRecording } from './recording-checks.js';

let stack: TestStack;
let browser: TestBrowser;

before(async () => {
  stack = await startStack();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function recordings(): Promise<Recording[]> {
  const res = await fetch(`${stack.baseUrl}/api/recordings`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { recordings: unknown[] } | unknown[];
  const list = Array.isArray(body) ? body : body.recordings;
  return list.map((r) => RecordingSchema.parse(r));
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

test('record 8 seconds from the page in Chromium and get a playable H264 + AAC MP4', { timeout: 180_000 }, async () => {
  const page = await browser.context.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
  await page.goto(stack.baseUrl);
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>('#preview');
    return v !== null && v.readyState >= 2 && v.videoWidth > 0;
  }, undefined, { timeout: 30_000 });
  await page.locator('#record').click();
  const started = await waitFor('the recording to start', async () => (await recordings()).find((r) => r.status === 'recording'), 30_000);
  assert.equal(started.status, 'recording');
  await page.waitForTimeout(8_000);
  await page.locator('#stop').click();
  const done = await waitFor('the recording to be finalized', async () => {
    const r = (await recordings()).find((x) => x.id === started.id);
    return r && (r.status === 'done' || r.status === 'failed') ? r : undefined;
  }, 60_000);

  assert.equal(done.status, 'done', `recording failed: ${JSON.stringify(done.error)}`);
  assert.equal((await recordings()).length, 1, 'exactly one recording');
  assert.equal(done.container, 'mp4');
  assert.ok(done.startedAt && done.stoppedAt && done.durationMs !== null && done.sizeBytes !== null);
  assert.deepEqual(done.tracks.map((t) => `${t.kind}:${t.codec}`).sort(), ['audio:aac', 'video:h264']);

  const path = join(stack.recordingsDir, done.fileName);
  assert.equal((await stat(path)).size, done.sizeBytes);
  await assertPlayableRecording(path, { video: 'h264', audio: 'aac', durationSec: 8, toleranceSec: 1.5 });

  // the page lists it with a player and a download link
  const item = page.locator(`[data-recording-id="${done.id}"]`);
  await item.waitFor({ timeout: 15_000 });
  assert.equal(await item.getAttribute('data-status'), 'done');
  assert.equal(await item.locator('a[download]').count(), 1);
  assert.equal(await item.locator('video, audio').count(), 1);

  // and the API serves the same bytes, seekable
  const whole = await fetch(`${stack.baseUrl}/api/recordings/${done.id}/media`);
  assert.equal(whole.status, 200);
  assert.equal(Number(whole.headers.get('content-length')), done.sizeBytes);
  await whole.arrayBuffer();
  const part = await fetch(`${stack.baseUrl}/api/recordings/${done.id}/media`, { headers: { range: 'bytes=0-99' } });
  assert.equal(part.status, 206);
  assert.equal((await part.arrayBuffer()).byteLength, 100);
  await page.close();
});
