// The product's promise, as a user lives it: open the page, press Record, wait, press Stop, get a playable
// file. Real nats-server, real signaling/media/recorder processes, real headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertPlayableRecording } from './recording-checks.js';
import { listRecordings, recordFromPage, waitFor } from './page-recording.js';

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

test('record 8 seconds from the page in Chromium and get a playable H264 + AAC MP4', { timeout: 180_000 }, async () => {
  const page = await browser.context.newPage();
  const done = await recordFromPage(page, stack.baseUrl, 8);

  assert.equal(done.status, 'done', `recording failed: ${JSON.stringify(done.error)}`);
  assert.equal((await listRecordings(stack.baseUrl)).length, 1, 'exactly one recording');
  assert.equal(done.container, 'mp4');
  assert.ok(done.startedAt && done.stoppedAt && done.durationMs !== null && done.sizeBytes !== null);
  assert.deepEqual(done.tracks.map((t) => `${t.kind}:${t.codec}`).sort(), ['audio:aac', 'video:h264']);
  // done does not wait for the decode: the recorder's background verification fills fileCheck afterwards
  const verified = await waitFor(
    'the background verification of the file',
    async () => (await listRecordings(stack.baseUrl)).find((r) => r.id === done.id && r.fileCheck != null),
    60_000,
  );
  assert.deepEqual(verified.fileCheck, { decodesCleanly: true, scope: 'full' }, 'the recorder decoded the whole file without an error');

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
