import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { ServiceError } from '@recstack/service-kit';
import { launchChromium, type TestBrowser } from '@recstack/testkit';
import { TEST_TOKEN, client, publish, startHarness, type Harness } from '../testing/harness.js';

/**
 * The page in real Chromium (fake camera), against signaling in-process with the media/recorder test
 * responders: everything the page does that needs no real media path. The full record-and-play path
 * is in the end-to-end tests with the real stack.
 */

// this project compiles for Node, without the DOM types: browser-side code names what it uses
type PageGlobals = { document: { querySelector(selector: string): { videoWidth: number; paused: boolean } | null } };
const PREVIEW_PLAYING = () => {
  const video = (globalThis as unknown as PageGlobals).document.querySelector('#preview');
  return video !== null && video.videoWidth > 0 && !video.paused;
};
const DENY_CAMERA = `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`;

let h: Harness;
let browser: TestBrowser;

before(async () => {
  h = await startHarness();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await h?.close();
});

async function openPage(setup?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  (page as Page & { errors?: string[] }).errors = errors;
  await setup?.(page);
  await page.goto(h.url);
  return page;
}

test('the page loads, shows the camera preview and goes live', async () => {
  const page = await openPage();
  try {
    await page.waitForFunction(PREVIEW_PLAYING, undefined, { timeout: 15_000 });
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
    assert.equal(await page.textContent('#status'), 'Ready to record');
    assert.equal(await page.isEnabled('#record'), true);
    assert.equal(await page.isDisabled('#stop'), true);
    assert.ok((await page.locator('#camera option').count()) >= 1, 'cameras are listed');
    assert.ok((await page.locator('#microphone option').count()) >= 1, 'microphones are listed');
    const codecs = await Promise.all((await page.locator('#codec option').all()).map((o) => o.getAttribute('value')));
    assert.deepEqual(codecs, ['h264', 'vp8', 'vp9', 'av1']);
    assert.equal(await page.isHidden('#message'), true);
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
  } finally {
    await page.close();
  }
});

test('a denied camera is explained in words and Record stays disabled', async () => {
  const page = await openPage(async (p) => {
    await p.addInitScript({ content: DENY_CAMERA });
  });
  try {
    await page.waitForSelector('#message:not([hidden])', { timeout: 10_000 });
    assert.match((await page.textContent('#message')) ?? '', /Camera and microphone access was blocked/);
    assert.equal(await page.textContent('#preview-placeholder-text'), 'Camera unavailable');
    assert.equal(await page.isDisabled('#record'), true);
  } finally {
    await page.close();
  }
});

/** A recording started through the API (not the page's button) once the page is live; resolves when the page lists it recording. */
async function recordThroughApi(page: Page) {
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
  const api = client(() => h.url);
  const sessionId = await publish(api);
  const started = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as { id: string };
  await page.waitForSelector(`.recording[data-recording-id="${started.id}"][data-status="recording"]`, { timeout: 5000 });
  return { api, started };
}

test('recordings are listed live with duration, size, codecs, state, player and download; delete works', async () => {
  const page = await openPage();
  try {
    const { api, started } = await recordThroughApi(page);
    const item = page.locator(`.recording[data-recording-id="${started.id}"]`);
    await new Promise((r) => setTimeout(r, 300));
    await api(`/api/recordings/${started.id}/stop`, { method: 'POST' });
    await page.waitForSelector(`.recording[data-recording-id="${started.id}"][data-status="done"]`, { timeout: 5000 });
    assert.equal(await item.locator('.state').textContent(), 'Ready');
    const meta = (await item.locator('.recording-meta').textContent()) ?? '';
    assert.match(meta, /00:0\d/, 'duration');
    assert.match(meta, /98 KB/, 'size');
    assert.match(meta, /H\.264 640×480 · AAC/, 'codecs');
    assert.match(meta, /MP4/);
    assert.equal(await item.locator('.player').isVisible(), true, 'inline player');
    // signed, short-lived links: no token in any URL, and they work without one
    const href = (await item.locator('.download').getAttribute('href')) ?? '';
    assert.match(href, new RegExp(`^/api/recordings/${started.id}/media\\?expires=\\d+&sig=[A-Za-z0-9_-]+&download=1$`));
    const file = await fetch(new URL(href, h.url));
    assert.equal(file.status, 200);
    assert.match(file.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.match((await item.locator('.player').getAttribute('src')) ?? '', new RegExp(`^/api/recordings/${started.id}/media\\?expires=\\d+&sig=`));
    page.once('dialog', (dialog) => void dialog.accept());
    await item.locator('.delete').click();
    await item.waitFor({ state: 'detached', timeout: 5000 });
    assert.equal((await api(`/api/recordings/${started.id}`)).status, 404);
  } finally {
    await page.close();
  }
});

test('a finished file with frames that do not decode carries a warning in the list', async () => {
  h.recorder.decodesCleanly = false;
  const page = await openPage();
  try {
    const { api, started } = await recordThroughApi(page);
    await api(`/api/recordings/${started.id}/stop`, { method: 'POST' });
    const item = page.locator(`.recording[data-recording-id="${started.id}"][data-status="done"]`);
    await item.waitFor({ timeout: 5000 });
    assert.equal(await item.locator('.state').textContent(), 'Ready', 'still playable');
    assert.match((await item.locator('.recording-error').textContent()) ?? '', /could not be decoded/);
    assert.equal(await item.locator('.recording-error').isVisible(), true);
    assert.deepEqual(((await (await api(`/api/recordings/${started.id}`)).json()) as { fileCheck: unknown }).fileCheck, {
      decodesCleanly: false,
      scope: 'full',
    });
  } finally {
    h.recorder.decodesCleanly = true;
    await page.close();
  }
});

test('a recording that lost packets beyond what was retransmitted carries a warning; one with every loss repaired does not', async () => {
  const page = await openPage();
  try {
    const file = { framesWritten: 80, keyframesReceived: 2, longestGapMs: 120, resolutionChanges: [{ atMs: 0, width: 640, height: 480 }] };
    const recordWith = async (ingest: { packetsReceived: number; packetsLost: number; packetsRetransmitted: number; keyframesRequested: number }) => {
      h.recorder.stats = { ingest, file };
      const { api, started } = await recordThroughApi(page);
      await api(`/api/recordings/${started.id}/stop`, { method: 'POST' });
      const item = page.locator(`.recording[data-recording-id="${started.id}"][data-status="done"]`);
      await item.waitFor({ timeout: 5000 });
      const body = (await (await api(`/api/recordings/${started.id}`)).json()) as { stats: unknown };
      assert.deepEqual(body.stats, { ...ingest, ...file }, 'the API returns both parts of the stats');
      return item;
    };
    const lossy = await recordWith({ packetsReceived: 900, packetsLost: 40, packetsRetransmitted: 10, keyframesRequested: 3 });
    assert.equal(await lossy.locator('.state').textContent(), 'Ready', 'still playable');
    assert.match((await lossy.locator('.recording-error').textContent()) ?? '', /40 packets were lost on the way \(10 retransmitted\)/);
    assert.equal(await lossy.locator('.recording-error').isVisible(), true);
    const repaired = await recordWith({ packetsReceived: 900, packetsLost: 5, packetsRetransmitted: 5, keyframesRequested: 1 });
    assert.equal(await repaired.locator('.recording-error').isVisible(), false);
  } finally {
    h.recorder.stats = {};
    await page.close();
  }
});

test('a server error on Record is shown in words', async () => {
  h.media.behaviour.beforeCreate = () => {
    throw new ServiceError('AT_CAPACITY', 'full');
  };
  const page = await openPage();
  try {
    await page.waitForSelector('#record:not([disabled])', { timeout: 15_000 });
    await page.click('#record');
    await page.waitForSelector('#message:not([hidden])', { timeout: 10_000 });
    assert.match((await page.textContent('#message')) ?? '', /The server is busy/);
    assert.equal(await page.textContent('#status'), 'Ready to record');
    assert.equal(await page.isEnabled('#record'), true, 'the person can try again');
  } finally {
    delete h.media.behaviour.beforeCreate;
    await page.close();
  }
});

test('an unreachable server is shown clearly, and the page recovers when it is back', async () => {
  const page = await openPage();
  try {
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
    const port = h.signaling.port;
    await h.signaling.close(1000);
    await page.waitForSelector('#banner:not([hidden])', { timeout: 15_000 });
    assert.match((await page.textContent('#banner-text')) ?? '', /Cannot reach the server/);
    assert.equal(await page.getAttribute('#connection', 'data-state'), 'offline');
    await h.restart({ HTTP_PORT: String(port) });
    await page.click('#banner-retry');
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 15_000 });
    await page.waitForSelector('#banner', { state: 'hidden', timeout: 5000 });
  } finally {
    await page.close();
  }
});

test('with an API token the page asks for it, then works', async () => {
  await h.restart({ API_TOKEN: TEST_TOKEN });
  const page = await openPage();
  try {
    await page.waitForSelector('#token-dialog[open]', { timeout: 10_000 });
    await page.fill('#token-input', 'not-the-token-at-all');
    await page.click('#token-submit');
    await page.waitForSelector('#token-error:not([hidden])', { timeout: 10_000 });
    await page.fill('#token-input', TEST_TOKEN);
    await page.click('#token-submit');
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
    assert.equal(await page.isVisible('#token-dialog'), false);
    assert.equal(await page.evaluate('sessionStorage.getItem("recstack.apiToken")'), TEST_TOKEN, 'kept for the browser session');
    assert.equal(await page.evaluate('localStorage.getItem("recstack.apiToken")'), null, 'not remembered unless asked');
    // asked to remember: it survives the browser session
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.waitForSelector('#token-dialog[open]', { timeout: 10_000 });
    await page.fill('#token-input', TEST_TOKEN);
    await page.check('#token-remember');
    await page.click('#token-submit');
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 10_000 });
    assert.equal(await page.evaluate('localStorage.getItem("recstack.apiToken")'), TEST_TOKEN);
    assert.equal(
      await page.evaluate('document.documentElement.outerHTML.includes(' + JSON.stringify(TEST_TOKEN) + ')'),
      false,
      'the token is in no URL of the page',
    );
  } finally {
    await page.evaluate('localStorage.clear(); sessionStorage.clear()').catch(() => undefined);
    await page.close();
    await h.restart();
  }
});
