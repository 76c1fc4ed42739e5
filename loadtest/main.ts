// `make load`: many WebRTC publishers record at once through the whole stack, every file is downloaded
// and checked, and the figures a capacity plan needs are reported (Markdown, HTML, JSON). In
// LOAD_MODE=find-capacity it adds publishers step by step until an objective breaks.
// A benchmark, not a test: its figures never fail it. Exit codes: fixed mode 1 when a recording is not
// clean; find-capacity 0 once it ran (the capacity is the result); 2 when it could not run.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackClient, runChecksInBackground } from '@recstack/testkit';
import { loadLoadConfig } from './load-config.js';
import { buildReport, renderMarkdown, type ActivitySample } from './load-report.js';
import { runLoad, type LiveState } from './load-run.js';
import { LocalStack } from './local-stack.js';
import { MediaDropReader } from './media-drops.js';
import { ChromiumFleet, ReplayFleet, type PublisherFleet } from './publisher-fleet.js';
import { renderHtml } from './report-html.js';
import { UsageSampler } from './usage-sampler.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stderr.write(`[load ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function progressLine(s: LiveState): string {
  const left = s.phaseEndsAt === undefined ? '' : `, ${Math.max(0, Math.round((s.phaseEndsAt - Date.now()) / 1000))} s left`;
  return `step ${s.step}/${s.steps} ${s.phase}${left} · publishers up ${s.publishersUp} · recording ${s.recording} · refused ${s.refused} · failed ${s.failed}`;
}

async function main(): Promise<number> {
  const config = loadLoadConfig();
  // the file checks run beside the stack measured: lowest priority, so they never compete with it
  runChecksInBackground();
  let local: LocalStack | undefined;
  let fleet: PublisherFleet | undefined;
  const teardown = async () => {
    await fleet?.close().catch(() => undefined);
    await local?.stop();
  };
  process.once('SIGINT', () => void teardown().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void teardown().finally(() => process.exit(143)));
  try {
    const most = config.mode === 'fixed' ? config.publishers : config.maxPublishers;
    if (!config.url) {
      log(`starting a local stack: nats-server, signaling, media, ${config.recorders} recorder(s) (${config.engine})`);
      local = await LocalStack.start(config, most);
    }
    const baseUrl = config.url ?? local?.baseUrl ?? '';
    const client = new StackClient(baseUrl, config.token, 500);
    await client.waitReady(60_000);
    fleet = config.publisher === 'replay' ? await ReplayFleet.create(config, baseUrl, log) : await ChromiumFleet.create(config, baseUrl);
    log(`publishers: ${fleet.description}`);
    const state: LiveState = { step: 0, steps: 0, publishersUp: 0, recording: 0, refused: 0, failed: 0, phaseEndsAt: undefined, phase: 'starting' };
    const drops = local ? new MediaDropReader(() => local?.media.child.pid, local.mediaUdpPorts) : undefined;
    const activity: ActivitySample[] = [];
    const startedAt = Date.now();
    const sampler = new UsageSampler(
      () => local?.roots() ?? new Map(),
      1000,
      (s) => {
        activity.push({ at: s.at, recording: state.recording, publishersUp: state.publishersUp, mediaDrops: drops?.read() });
      },
    );
    const progress = setInterval(() => {
      log(progressLine(state));
      if (config.heartbeatFile) void writeFile(config.heartbeatFile, new Date().toISOString()).catch(() => undefined);
    }, 5000);
    if (config.heartbeatFile) await writeFile(config.heartbeatFile, new Date().toISOString());
    const chaosDone: Array<{ event: (typeof config.chaos)[number]; at: number; done: string }> = [];
    const chaosTimers = config.chaos.map((event) =>
      setTimeout(() => {
        const entry = { event, at: Date.now(), done: 'still in progress when the run ended' };
        chaosDone.push(entry);
        log(`chaos: ${event.action}`);
        void local?.chaos(event).then(
          (done) => (entry.done = done),
          (err: unknown) => (entry.done = `could not: ${(err as Error).message}`),
        );
      }, event.atSeconds * 1000),
    );
    const outcome = await runLoad({ config, client, fleet, state, mediaDrops: () => drops?.read(), log });
    chaosTimers.forEach(clearTimeout);
    clearInterval(progress);
    sampler.stop();
    const relay = await fleet.relayTotals();
    const dropped = Object.entries(drops?.byPort() ?? {}).filter(([, n]) => n > 0);
    if (dropped.length > 0) log(`media's UDP sockets dropped packets (port: count): ${dropped.map(([p, n]) => `${p}: ${n}`).join(', ')}`);
    const machine = `${hostname()}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})${local ? `, ${local.receiveBuffers}` : ''}`;
    const report = buildReport({
      config,
      startedAt,
      endedAt: Date.now(),
      machine,
      target: config.url ?? 'a local stack started by the harness',
      publishers: fleet.description,
      recordings: outcome.recordings,
      steps: outcome.steps,
      capacity: outcome.capacity,
      brokeAt: outcome.brokeAt,
      publishRefused: outcome.publishRefused,
      publishFailed: outcome.publishFailed.length,
      usage: sampler.samples,
      activity,
      relay,
      chaos: chaosDone,
      mediaDropsByPort: drops?.byPort() ?? {},
    });
    const markdown = renderMarkdown(report);
    const dir = config.resultsDir ?? join(HERE, 'results');
    await mkdir(dir, { recursive: true });
    const base = join(dir, config.resultName);
    await writeFile(`${base}.md`, markdown);
    await writeFile(`${base}.json`, `${JSON.stringify(report, null, 1)}\n`);
    await writeFile(`${base}.html`, renderHtml(report, markdown.split('\n')[0]?.replace(/^# /, '') ?? 'Load test'));
    process.stdout.write(`\n${markdown}\n(written to ${base}.md, .html and .json)\n`);
    if (config.mode === 'find-capacity' || !config.record) return 0;
    // a refusal (503 AT_CAPACITY) is the stack protecting itself, not a broken recording; all refused showed nothing
    const accepted = report.totals.recordings - report.totals.refused;
    return accepted > 0 && report.totals.clean === accepted ? 0 : 1;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`the load test could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
