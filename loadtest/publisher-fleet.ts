import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { ensureReplayMedia, launchChromium, publishWhip, type PublisherStats, type RelayStats, type ReplayMedia, type TestBrowser } from '@recstack/testkit';
import { impaired, type LoadConfig } from './load-config.js';
import type { FromWorker, ToWorker } from './replay-protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export type PublishOutcome =
  | { ok: true; sessionId: string; connectMs: number }
  /** refused: the stack said 503 AT_CAPACITY (it protects itself); otherwise the publish broke */
  | { ok: false; refused: boolean; code: string; message: string };

export interface RelayTotals {
  upstream: RelayStats;
  downstream: RelayStats;
}

/** The publishers of a run, whatever they are made of. Indexes are the run's publisher numbers. */
export interface PublisherFleet {
  readonly description: string;
  publish(index: number): Promise<PublishOutcome>;
  /** counters of a publisher so far (replay only) */
  snapshot(index: number): Promise<PublisherStats | undefined>;
  unpublish(index: number): Promise<PublisherStats | undefined>;
  relayTotals(): Promise<RelayTotals | undefined>;
  close(): Promise<void>;
}

const isRefusal = (status: number | undefined, code: string) => status === 503 || code === 'AT_CAPACITY';

/** Replay publishers in worker processes of `perWorker` each (forked as they are needed). */
export class ReplayFleet implements PublisherFleet {
  readonly description: string;
  private readonly workers: Array<{ child: ChildProcess; ready: Promise<void> }> = [];
  private readonly pending = new Map<string, { worker: number; resolve: (message: FromWorker | undefined) => void }>();
  private closing = false;
  private nextRequest = 1;
  private readonly alignEpochMs: number | undefined;

  private constructor(
    private readonly config: LoadConfig,
    private readonly baseUrl: string,
    readonly media: ReplayMedia,
    private readonly cacheDir: string,
  ) {
    const i = config.impairments;
    const impairment = impaired(i)
      ? `, through a UDP relay (loss ${i.lossPercent} %, jitter ${i.jitterMs} ms, reorder ${i.reorderPercent} %, bandwidth ${i.bandwidthKbps || '∞'} kbit/s)`
      : '';
    this.description = `werift replay publishers (${config.perWorker} per worker process): ${config.codec.toUpperCase()} ${config.width}x${config.height} ${config.fps} fps ~${config.kbps} kbit/s, a keyframe every ${config.keyframeSeconds} s + Opus, ${config.aligned ? 'keyframes aligned' : 'keyframes at their own instants (each shifted by its own fraction of the interval)'}, keyframe requests ${config.honourPli ? 'answered by jumping to the next keyframe' : 'ignored'}, video paced ${config.pacing > 0 ? `at ${config.pacing} × its bitrate` : 'not at all (a frame is one burst)'}${impairment}`;
    this.alignEpochMs = config.aligned ? Date.now() : undefined;
  }

  /** Makes the media once (GStreamer) before any worker starts. */
  static async create(config: LoadConfig, baseUrl: string, log: (line: string) => void): Promise<ReplayFleet> {
    if (config.codec === 'av1') throw new Error('replay publishers send h264, vp8 or vp9');
    const cacheDir = config.cacheDir ?? join(HERE, '.cache');
    const media = await ensureReplayMedia(cacheDir, ReplayFleet.spec(config), log);
    return new ReplayFleet(config, baseUrl, media, cacheDir);
  }

  static spec(config: LoadConfig) {
    // the loop holds several keyframes so publishers can start at different ones
    const seconds = Math.max(10, Math.ceil(config.keyframeSeconds * 5));
    return {
      codec: config.codec as 'h264' | 'vp8' | 'vp9',
      width: config.width,
      height: config.height,
      fps: config.fps,
      kbps: config.kbps,
      keyframeSeconds: config.keyframeSeconds,
      seconds,
    };
  }

  /** the worker processes' ids (their CPU is the generator's) */
  pids(): number[] {
    return this.workers.flatMap((w) => (w.child.pid === undefined ? [] : [w.child.pid]));
  }

  private worker(index: number): ChildProcess {
    const w = Math.floor(index / this.config.perWorker);
    while (this.workers.length <= w) {
      const child = fork(join(HERE, 'replay-worker.ts'), [], {
        execArgv: ['--conditions=development', '--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const index = this.workers.length;
      const ready = new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => {
          reject(new Error(`a replay worker exited with ${code}`));
          // whatever it was asked is answered with nothing: its publishers are gone
          for (const [key, p] of this.pending) {
            if (p.worker !== index) continue;
            this.pending.delete(key);
            p.resolve(undefined);
          }
          if (!this.closing) process.stderr.write(`a replay worker exited with ${code}: its publishers are gone\n`);
        });
        child.on('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : this.dispatch(m)));
      });
      ready.catch(() => undefined);
      const init: ToWorker = {
        type: 'init',
        workerIndex: this.workers.length,
        cacheDir: this.cacheDir,
        spec: ReplayFleet.spec(this.config),
        whipUrl: `${this.baseUrl}/whip`,
        token: this.config.token,
        impairment: impaired(this.config.impairments) ? { ...this.config.impairments } : undefined,
        honourPli: this.config.honourPli,
        loopbackOnly: isLoopback(this.baseUrl),
        pacingKbps: this.config.pacing * this.config.kbps,
      };
      child.send(init);
      this.workers.push({ child, ready });
    }
    return (this.workers[w] as { child: ChildProcess }).child;
  }

  private dispatch(m: FromWorker): void {
    const key =
      m.type === 'published' || m.type === 'publish-failed'
        ? `publish:${m.id}`
        : m.type === 'unpublished'
          ? `unpublish:${m.id}`
          : 'requestId' in m
            ? `req:${m.requestId}`
            : '';
    const waiter = this.pending.get(key);
    this.pending.delete(key);
    waiter?.resolve(m);
  }

  private ask(index: number, key: string, message: ToWorker): Promise<FromWorker | undefined> {
    const child = this.worker(index);
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.pending.set(key, { worker: Math.floor(index / this.config.perWorker), resolve });
      child.send(message);
    });
  }

  async publish(index: number): Promise<PublishOutcome> {
    this.worker(index);
    const ready = await this.workers[Math.floor(index / this.config.perWorker)]?.ready.then(
      () => undefined,
      (err: Error) => err,
    );
    if (ready) return { ok: false, refused: false, code: 'WORKER_GONE', message: ready.message };
    const m = await this.ask(index, `publish:${index}`, { type: 'publish', id: index, alignEpochMs: this.alignEpochMs });
    if (m?.type === 'published') return { ok: true, sessionId: m.sessionId, connectMs: m.connectMs };
    if (m?.type === 'publish-failed') return { ok: false, refused: isRefusal(m.status, m.code), code: m.code, message: m.message };
    return { ok: false, refused: false, code: 'WORKER_GONE', message: 'the worker process hosting this publisher exited' };
  }

  async snapshot(index: number): Promise<PublisherStats | undefined> {
    const requestId = this.nextRequest++;
    const m = await this.ask(index, `req:${requestId}`, { type: 'snapshot', id: index, requestId });
    return m?.type === 'snapshot' ? m.stats : undefined;
  }

  async unpublish(index: number): Promise<PublisherStats | undefined> {
    const m = await this.ask(index, `unpublish:${index}`, { type: 'unpublish', id: index });
    return m?.type === 'unpublished' ? m.stats : undefined;
  }

  async relayTotals(): Promise<RelayTotals | undefined> {
    if (!impaired(this.config.impairments)) return undefined;
    const zero = (): RelayStats => ({ received: 0, forwarded: 0, lost: 0, queueDropped: 0, reordered: 0 });
    const totals = { upstream: zero(), downstream: zero() };
    for (let w = 0; w < this.workers.length; w++) {
      const requestId = this.nextRequest++;
      const m = await this.ask(w * this.config.perWorker, `req:${requestId}`, { type: 'relay-stats', requestId });
      if (m?.type !== 'relay-stats') continue;
      for (const dir of ['upstream', 'downstream'] as const)
        for (const s of m[dir]) for (const k of Object.keys(s) as Array<keyof RelayStats>) totals[dir][k] += s[k];
    }
    return totals;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.send({ type: 'exit' } satisfies ToWorker);
          }),
      ),
    );
  }
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

/** Today's publishers: one Chromium page each, the fake camera encoded live (heavy: a few per machine). */
export class ChromiumFleet implements PublisherFleet {
  readonly description: string;
  private readonly pages = new Map<number, Page>();

  private constructor(
    private readonly browser: TestBrowser,
    private readonly context: BrowserContext,
    private readonly baseUrl: string,
    private readonly config: LoadConfig,
  ) {
    this.description = `Chromium pages with the fake camera, ${config.codec.toUpperCase()} at up to ${config.width}x${config.height} + Opus`;
  }

  static async create(config: LoadConfig, baseUrl: string): Promise<ChromiumFleet> {
    const browser = await launchChromium();
    return new ChromiumFleet(browser, browser.context, baseUrl, config);
  }

  async publish(index: number): Promise<PublishOutcome> {
    const t0 = performance.now();
    const page = await this.context.newPage();
    this.pages.set(index, page);
    try {
      // the page must be on the server's origin for its fetch('/whip')
      await page.goto(`${this.baseUrl}/healthz`);
      const session = await publishWhip(page, {
        videoCodec: this.config.codec,
        width: this.config.width,
        height: this.config.height,
        ...(this.config.token ? { token: this.config.token } : {}),
      });
      return { ok: true, sessionId: session.sessionId, connectMs: performance.now() - t0 };
    } catch (err) {
      const message = (err as Error).message.split('\n')[0] ?? '';
      return { ok: false, refused: /answered 503|AT_CAPACITY/.test(message), code: /AT_CAPACITY/.test(message) ? 'AT_CAPACITY' : 'PUBLISH_FAILED', message };
    }
  }

  snapshot(): Promise<PublisherStats | undefined> {
    return Promise.resolve(undefined);
  }

  async unpublish(index: number): Promise<PublisherStats | undefined> {
    await this.pages
      .get(index)
      ?.close()
      .catch(() => undefined);
    this.pages.delete(index);
    return undefined;
  }

  relayTotals(): Promise<RelayTotals | undefined> {
    return Promise.resolve(undefined);
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}
