// `make bench`: what a recording costs (CPU, memory) in the seed's two commands and in our recorder's
// pipelines, side by side on the same replayed RTP, and how long start and stop take through the real
// recorder service. A benchmark: it prints figures and never fails on them.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ABLATIONS, CANDIDATES, COST_CANDIDATES, ablated } from './ablations.js';
import { loadBenchConfig } from './bench-config.js';
import { measureCpu, type CpuResult } from './cpu-bench.js';
import { measureLatency, type LatencyCase, type LatencyResult } from './latency-bench.js';
import { cpuRow, renderMarkdown } from './report.js';
import { ensureDump } from './rtp-dump.js';
import { ALL_SUBJECTS, ours, type Subject } from './subjects.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** the dump is made once at this length (longer when a run asks for more) and cut to each run's length */
const DUMP_SECONDS = 60;
const LATENCY_CASES: LatencyCase[] = [
  { engine: 'gstreamer', audioCodec: 'aac' },
  { engine: 'gstreamer', audioCodec: 'opus' },
  { engine: 'ffmpeg', audioCodec: 'aac' },
];
/** how much of "start → first keyframe" is rtpbin's jitter buffer (200 ms by default) */
const SHORT_JITTER_BUFFER: LatencyCase = { engine: 'gstreamer', audioCodec: 'aac', env: { RECORDER_JITTER_LATENCY_MS: '50' } };

async function main(): Promise<void> {
  const config = loadBenchConfig();
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const loadBefore = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

  const dump = await ensureDump(join(HERE, '.cache'), Math.max(DUMP_SECONDS, config.seconds, config.recordSeconds), log);
  const wanted = (id: string) => config.only.length === 0 || config.only.includes(id);

  let subjects: Subject[] = [...ALL_SUBJECTS];
  if (config.ablations) {
    for (const base of [ours('gstreamer', 'aac'), ours('gstreamer', 'opus')]) {
      subjects.push(...[...ABLATIONS, ...CANDIDATES, ...COST_CANDIDATES].map((a) => ablated(base, a)).filter((v) => changesPipeline(base, v)));
    }
  }
  subjects = subjects.filter((s) => wanted(s.id));

  const results = new Map<string, CpuResult[]>();
  for (let round = 1; round <= config.repeat; round++) {
    for (const subject of subjects) {
      log(`cost: ${subject.id} (${config.seconds} s${config.repeat > 1 ? `, round ${round}/${config.repeat}` : ''})`);
      const result = await measureCpu(subject, dump, config.seconds);
      if (result.problem) log(`  problem: ${result.problem}\n  ${result.outputTail.slice(-5).join('\n  ')}`);
      else
        log(
          `  ${result.steadyCorePercent.toFixed(2)} % of a core, ${((result.childCpuSeconds / result.recordedSeconds) * 60).toFixed(3)} CPU s per recorded minute`,
        );
      results.set(subject.id, [...(results.get(subject.id) ?? []), result]);
    }
  }
  const rows = [...results.values()].map((r) => cpuRow(r));

  const latency: LatencyResult[] = [];
  const latencyCases = config.ablations ? [...LATENCY_CASES, SHORT_JITTER_BUFFER] : LATENCY_CASES;
  for (const testCase of latencyCases) {
    const id = `ours-${testCase.engine === 'gstreamer' ? 'gst' : 'ffmpeg'}-${testCase.audioCodec}`;
    if (!wanted(id)) continue;
    log(`start/stop over NATS: ${id} (${config.runs} runs of ${config.recordSeconds} s)`);
    latency.push(await measureLatency(testCase, dump, config.runs, config.recordSeconds, log));
  }

  const markdown = renderMarkdown(
    {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      host: hostname(),
      cores: cpus().length,
      loadBefore,
      loadAfter: loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
      gstreamer: version('gst-launch-1.0', ['--version'], /GStreamer [\d.]+/),
      ffmpeg: version('ffmpeg', ['-version'], /ffmpeg version \S+/),
      seconds: config.seconds,
      repeat: config.repeat,
      runs: config.runs,
      recordSeconds: config.recordSeconds,
      elapsedSeconds: (performance.now() - started) / 1000,
      pipelines: subjects.filter((s) => s.id.startsWith('ours-') && !s.id.includes('/')).map((s) => ({ id: s.id, command: commandLine(s) })),
    },
    rows,
    latency,
  );
  process.stdout.write(`\n${markdown}`);
  const resultsDir = join(HERE, 'results');
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, config.resultFile), markdown);
  log(`written to ${join(resultsDir, config.resultFile)}`);
}

function commandLine(subject: Subject): string {
  const launch = subject.launch({ video: 50_000, audio: 50_002 }, '/recordings');
  return [launch.command, ...launch.args].join(' ').replace(/rec_\w+/g, 'rec_ID');
}

/** A variant that rewrites nothing (say, voaacenc → voaacenc) is not measured twice. */
function changesPipeline(base: Subject, variant: Subject): boolean {
  const ports = { video: 40_000, audio: 40_002 };
  // every launch names a new recording: compare the pipelines without the file names
  const argv = (s: Subject) =>
    s
      .launch(ports, '/nonexistent')
      .args.join(' ')
      .replace(/rec_\w+/g, 'rec');
  return argv(base) !== argv(variant);
}

function version(command: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(command, args, { encoding: 'utf8' }))?.[0] ?? command;
  } catch {
    return `${command} (version unknown)`;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
