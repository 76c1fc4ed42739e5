// `make load`: many WebRTC publishers record at once through the whole stack, every file is downloaded
// and checked, and the figures a capacity plan needs are printed: how many recordings came out right,
// start → first keyframe and stop → finalized file, and CPU and memory of each service while all record.
// A benchmark, not a test: its figures never fail it; only a recording that is not right does (exit 1).
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackClient, freeUdpRange, launchChromium, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { loadLoadConfig, type LoadConfig } from './load-config.js';
import { renderMarkdown, steadyWindow, summarize } from './load-report.js';
import { runPublisher, type PublisherResult } from './publisher-run.js';
import { UsageSampler, usageBetween } from './usage-sampler.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stderr.write(`[load ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** nats-server and the three services on loopback, sized for the load: one media session and recording per publisher. */
async function startLocalStack(config: LoadConfig): Promise<TestStack> {
  // media wants at least 50 ports (Medooze), a port per endpoint (one per core), and RTP and RTCP of two tracks per session
  const udp = await freeUdpRange(Math.max(60, availableParallelism() + 4 * config.publishers + 8));
  return startStack({
    recorders: config.recorders,
    recorderEnv: { RECORDER_ENGINE: config.engine, MAX_RECORDINGS: String(config.publishers) },
    mediaEnv: { MAX_SESSIONS: String(config.publishers), MEDIA_UDP_PORT_MIN: String(udp.min), MEDIA_UDP_PORT_MAX: String(udp.max) },
    // every publisher and this harness share one client address: the per-address limits would throttle the harness, not the stack
    signalingEnv: { RATE_LIMIT_PER_MINUTE: '0', MAX_SESSIONS_PER_CLIENT: String(Math.max(10, config.publishers)) },
  });
}

function watchedProcesses(stack: TestStack | undefined): Map<string, number> {
  const roots = new Map<string, number>();
  if (!stack) return roots;
  const add = (name: string, pid: number | undefined) => pid !== undefined && roots.set(name, pid);
  add('nats-server', stack.nats.pid());
  add('signaling', stack.signaling.child.pid);
  add('media', stack.media.child.pid);
  stack.recorders.forEach((r, i) => add(`recorder ${i + 1}`, r.child.pid));
  return roots;
}

async function main(): Promise<number> {
  const config = loadLoadConfig();
  let stack: TestStack | undefined;
  let browser: TestBrowser | undefined;
  const teardown = async () => {
    await browser?.close();
    await stack?.stop();
  };
  process.once('SIGINT', () => void teardown().finally(() => process.exit(130)));
  try {
    if (!config.url) {
      log(`starting a local stack: nats-server, signaling, media, ${config.recorders} recorder(s) (${config.engine})`);
      stack = await startLocalStack(config);
    }
    const baseUrl = config.url ?? stack?.baseUrl ?? '';
    const client = new StackClient(baseUrl, config.token, 1000);
    await client.waitReady(60_000);
    browser = await launchChromium();
    const sampler = new UsageSampler(watchedProcesses(stack));
    log(`${config.publishers} publishers (${config.codec}, ${config.width}x${config.height}) against ${baseUrl}, ${config.seconds} s each, starting over ${config.rampSeconds} s`);
    const context = browser.context;
    const results: PublisherResult[] = await Promise.all(
      Array.from({ length: config.publishers }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (config.rampSeconds * 1000 * i) / config.publishers));
        const result = await runPublisher(i + 1, context, client, config);
        log(`publisher ${i + 1}: ${result.problems.length === 0 ? `done, ${((result.durationMs ?? 0) / 1000).toFixed(1)} s, checked` : result.problems.join('; ')}`);
        return result;
      }),
    );
    sampler.stop();
    const summary = summarize(results);
    const window = steadyWindow(results);
    const usage = window ? usageBetween(sampler.samples, window.from, window.to) : [];
    const machine = `${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})`;
    const markdown = renderMarkdown(config, config.url ?? 'a local stack started by the harness', summary, usage, machine);
    const out = join(HERE, 'results', config.resultFile);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, markdown);
    process.stdout.write(`\n${markdown}\n(written to ${out})\n`);
    return summary.good === summary.publishers ? 0 : 1;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`the load test could not run: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
