import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Recording } from '@recstack/contracts';
import { REPO_ROOT, launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';

/**
 * Screenshots of the page for the README (docs/screenshots/): idle, recording, and the list with a
 * finished recording. Made with the real stack (nats-server, recorder, media, signaling) and Chromium's
 * fake camera, so they show what a person sees.
 */

const OUT = join(REPO_ROOT, 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };

let stack: TestStack;
let browser: TestBrowser;

before(async () => {
  await mkdir(OUT, { recursive: true });
  stack = await startStack();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function recordings(): Promise<Recording[]> {
  return (await (await fetch(`${stack.baseUrl}/api/recordings`)).json()) as Recording[];
}

async function shoot(page: Page, name: string): Promise<void> {
  const path = join(OUT, `${name}.png`);
  await page.screenshot({ path });
  assert.ok((await stat(path)).size > 10_000, `${name}.png was written`);
}

test('screenshots: idle, recording, finished recording in the list', { timeout: 180_000 }, async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize(VIEWPORT);
  await page.goto(stack.baseUrl);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
  await page.waitForSelector('#record:not([disabled])', { timeout: 30_000 });
  await page.waitForTimeout(1000);
  await shoot(page, 'idle');

  await page.click('#record');
  await page.waitForSelector('body[data-phase="recording"]', { timeout: 30_000 });
  await page.waitForTimeout(5000);
  await shoot(page, 'recording');

  await page.click('#stop');
  await page.waitForSelector('body[data-phase="idle"]', { timeout: 60_000 });
  const [done] = await recordings();
  assert.equal(done?.status, 'done', `the recording finished: ${JSON.stringify(done?.error)}`);
  await page.waitForSelector(`.recording[data-recording-id="${done.id}"][data-status="done"]`, { timeout: 10_000 });
  // let the inline player load its first frame
  await page.waitForFunction(
    (id) => {
      const video = (globalThis as unknown as { document: { querySelector(s: string): { readyState: number } | null } }).document.querySelector(
        `.recording[data-recording-id="${id}"] video`,
      );
      return video !== null && video.readyState >= 2;
    },
    done.id,
    { timeout: 15_000 },
  );
  // the player's loading indicator fades out
  await page.waitForTimeout(2000);
  await shoot(page, 'finished');
  await page.close();
});
