import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { PublisherSession, Recording } from '@recstack/contracts';
import { launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';

/**
 * The page's codec choice with the real stack: the codec picked in the page is the one the browser
 * offers first (setCodecPreferences), media answers and the recording holds, in the default container
 * for that codec (AV1 goes through the recorder's own AV1 depacketizer).
 */

let stack: TestStack;
let browser: TestBrowser;
let page: Page;

before(async () => {
  stack = await startStack();
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.goto(stack.baseUrl);
  await page.waitForSelector('#record:not([disabled])', { timeout: 30_000 });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function getJson<T>(path: string): Promise<T> {
  return (await (await fetch(`${stack.baseUrl}${path}`)).json()) as T;
}

async function newestRecording(): Promise<Recording | undefined> {
  return (await getJson<Recording[]>('/api/recordings'))[0];
}

for (const [codec, container] of [
  ['vp8', 'webm'],
  ['vp9', 'webm'],
  ['h264', 'mp4'],
  ['av1', 'mp4'],
] as const) {
  test(`choosing ${codec} records ${codec} into ${container}`, { timeout: 120_000 }, async () => {
    await page.selectOption('#codec', codec);
    await page.click('#record');
    await page.waitForSelector('body[data-phase="recording"]', { timeout: 30_000 });
    const running = await newestRecording();
    assert.ok(running);
    const session = await getJson<PublisherSession>(`/api/sessions/${running.sessionId}`);
    assert.deepEqual(session.tracks.map((t) => `${t.kind}:${t.codec}`).sort(), ['audio:opus', `video:${codec}`]);
    await page.waitForTimeout(2500);
    await page.click('#stop');
    await page.waitForSelector('body[data-phase="idle"]', { timeout: 60_000 });
    const done = await getJson<Recording>(`/api/recordings/${running.id}`);
    assert.equal(done.status, 'done', JSON.stringify(done.error));
    assert.equal(done.container, container);
    assert.equal(done.tracks.find((t) => t.kind === 'video')?.codec, codec);
    assert.match((await page.textContent('#message')) ?? '', /^Saved: /);
    const response = await fetch(`${stack.baseUrl}/whip/${running.sessionId}`, { method: 'DELETE' });
    assert.equal(response.status, 404, 'the page ended its session after the recording');
  });
}
