import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { RecordingSchema, type Recording } from '@recstack/contracts';

/** The catalog as the API lists it, each entry validated against the contract. */
export async function listRecordings(baseUrl: string): Promise<Recording[]> {
  const res = await fetch(`${baseUrl}/api/recordings`);
  assert.equal(res.status, 200);
  return ((await res.json()) as unknown[]).map((r) => RecordingSchema.parse(r));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * What a person does: open the page, wait for the camera preview, press Record, wait, press Stop. Returns
 * the recording once it is finalized (done or failed).
 */
export async function recordFromPage(page: Page, baseUrl: string, seconds: number): Promise<Recording> {
  page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
  await page.goto(baseUrl);
  await page.waitForFunction(
    () => {
      const v = document.querySelector<HTMLVideoElement>('#preview');
      return v !== null && v.readyState >= 2 && v.videoWidth > 0;
    },
    undefined,
    { timeout: 30_000 },
  );
  const before = new Set((await listRecordings(baseUrl)).map((r) => r.id));
  await page.locator('#record').click();
  const started = await waitFor(
    'the recording to start',
    async () => (await listRecordings(baseUrl)).find((r) => !before.has(r.id) && r.status === 'recording'),
    30_000,
  );
  await page.waitForTimeout(seconds * 1000);
  await page.locator('#stop').click();
  return waitFor(
    'the recording to be finalized',
    async () => {
      const r = (await listRecordings(baseUrl)).find((x) => x.id === started.id);
      return r && (r.status === 'done' || r.status === 'failed') ? r : undefined;
    },
    60_000,
  );
}
