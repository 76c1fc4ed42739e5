import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];

export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with fake camera and microphone. Chromium here sometimes stalls for
 * minutes before its first page, so each attempt must open a page within `probeMs` or is relaunched.
 */
export async function launchChromium(options: { probeMs?: number; attempts?: number; extraArgs?: string[] } = {}): Promise<TestBrowser> {
  const probeMs = options.probeMs ?? 20_000;
  const attempts = options.attempts ?? 4;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const profile = await mkdtemp(join(tmpdir(), 'recstack-chromium-'));
    let context: BrowserContext | undefined;
    try {
      context = await withTimeout(
        chromium.launchPersistentContext(profile, {
          executablePath: CHROMIUM_PATH,
          headless: true,
          args: [...ARGS, ...(options.extraArgs ?? [])],
          permissions: ['camera', 'microphone'],
          timeout: probeMs,
        }),
        probeMs,
        'chromium launch',
      );
      const ctx = context;
      const page = await withTimeout(ctx.newPage(), probeMs, 'chromium first page');
      await withTimeout(page.goto('about:blank'), probeMs, 'chromium first navigation');
      await page.close();
      const browser = ctx.browser();
      return {
        browser: browser as Browser,
        context: ctx,
        close: async () => {
          await ctx.close().catch(() => undefined);
          await rm(profile, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await context?.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
      console.warn(`chromium attempt ${attempt} failed: ${String(err)}`);
    }
  }
  throw new Error(`chromium did not start after ${attempts} attempts: ${String(lastError)}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}
