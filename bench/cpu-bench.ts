import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '@recstack/service-kit';
import { ProcessSampler, RtpReplay, freeUdpRange, probe, reapedChildrenCpu, type RtpDump } from '@recstack/testkit';
import { decodeFile, finalizeFile, loadConfig, portsBoundBy, probeFile } from '@recstack/recorder';
import type { Subject } from './subjects.js';

export interface CpuResult {
  id: string;
  label: string;
  /** seconds of media in the file (ffprobe) */
  recordedSeconds: number;
  /** CPU seconds of the child over its whole life (start-up and finalizing included) */
  childCpuSeconds: number;
  /** CPU share of one core while recording, start-up excluded */
  steadyCorePercent: number;
  peakRssBytes: number;
  fileBytes: number;
  /** our recorder only: CPU seconds and wall time of what the service does after the child exits */
  post?: {
    cpuSeconds: number;
    wallSeconds: number;
    finalizeSeconds: number;
    decodeSeconds: number;
    decodeClean: boolean;
    decodeScope: string;
    decodeErrors: string[];
  };
  /** how the child ended: `exit 0`, `exit 255` (FFmpeg after SIGINT), `killed (SIGKILL)` */
  ending: string;
  outputLines: number;
  outputBytes: number;
  /** the last lines the child printed */
  outputTail: string[];
  problem?: string;
}

const LISTEN_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 20_000;
/** CPU before this point of the replay is start-up (plugin loading, probing), not the steady cost */
const WARMUP_SECONDS = 5;
const silent = createLogger('bench', 'silent');
const tools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };

/**
 * Records `seconds` of the replayed dump with one subject, alone on the machine's share this process
 * controls (one child at a time, so the reaped-children CPU counter belongs to it alone).
 */
export async function measureCpu(subject: Subject, dump: RtpDump, seconds: number, options: { keepFiles?: boolean } = {}): Promise<CpuResult> {
  const dir = await mkdtemp(join(tmpdir(), `recstack-bench-${subject.id.replaceAll('/', '+')}-`));
  try {
    return await measureIn(dir, subject, dump, seconds);
  } finally {
    if (options.keepFiles) process.stderr.write(`kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

async function measureIn(dir: string, subject: Subject, dump: RtpDump, seconds: number): Promise<CpuResult> {
  const range = await freeUdpRange(4);
  const ports = { video: range.min, audio: range.min + 2 };
  const launch = subject.launch(ports, dir);
  const reapedBefore = reapedChildrenCpu();
  const child = spawn(launch.command, launch.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  child.once('error', () => undefined);
  child.stdin.end(launch.stdin);
  let lines = 0;
  let bytes = 0;
  const tail: string[] = [];
  // read the output as the service does (line by line), so a chatty child pays for its writes
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      bytes += Buffer.byteLength(chunk);
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        lines++;
        tail.push(line.slice(0, 300));
        if (tail.length > 12) tail.shift();
      }
    });
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${launch.command} could not be started`);
  const sampler = new ProcessSampler(pid);
  const result: CpuResult = {
    id: subject.id,
    label: subject.label,
    recordedSeconds: 0,
    childCpuSeconds: 0,
    steadyCorePercent: Number.NaN,
    peakRssBytes: 0,
    fileBytes: 0,
    ending: '',
    outputLines: 0,
    outputBytes: 0,
    outputTail: tail,
  };
  try {
    await waitUntil(
      () => portsBoundBy(pid, launch.boundPorts),
      LISTEN_TIMEOUT_MS,
      () => child.exitCode !== null,
    );
    if (child.exitCode !== null) throw new Error(`${subject.id} exited before listening: ${tail.join(' | ')}`);

    const replay = new RtpReplay(dump, { host: '127.0.0.1', videoPort: ports.video, audioPort: ports.audio }, seconds);
    await delay(Math.min(WARMUP_SECONDS, seconds / 4) * 1000);
    const warm = sampler.sample();
    await replay.done;
    const end = sampler.sample();
    result.steadyCorePercent = ((end.cpu - warm.cpu) / ((end.at - warm.at) / 1000)) * 100;

    // the jitter buffers hold the last packets back a little: let them reach the muxer before the EOS
    await delay(500);
    child.kill(launch.stopSignal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const exit = await exited;
    clearTimeout(timer);
    result.ending = exit.signal ? `killed (${exit.signal})` : `exit ${exit.code}`;
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    result.problem = err instanceof Error ? err.message : String(err);
  } finally {
    sampler.stop();
  }
  result.childCpuSeconds = reapedChildrenCpu() - reapedBefore;
  result.peakRssBytes = sampler.peakRss;
  result.outputLines = lines;
  result.outputBytes = bytes;
  if (result.problem) return result;

  let path = launch.outputPath;
  if (launch.plan) {
    // what the service does once the child has exited: rewrite (index to the front) and probe on the stop's
    // path, then the full decode of the background verification
    const config = loadConfig({});
    const cpuBefore = reapedChildrenCpu();
    const t0 = performance.now();
    const outcome = await finalizeFile(launch.plan, true, tools.ffmpeg, silent);
    const t1 = performance.now();
    await probeFile(outcome.path, tools);
    const t2 = performance.now();
    const decode = await decodeFile(outcome.path, tools, config.decodeCheckTimeoutMs);
    const t3 = performance.now();
    if (outcome.problem) result.problem = `finalize: ${outcome.problem}`;
    path = outcome.path;
    result.post = {
      cpuSeconds: reapedChildrenCpu() - cpuBefore,
      wallSeconds: (t3 - t0) / 1000,
      finalizeSeconds: (t1 - t0) / 1000,
      decodeSeconds: (t3 - t2) / 1000,
      decodeClean: decode.clean,
      decodeScope: decode.scope,
      decodeErrors: decode.errors.slice(0, 3),
    };
  }
  try {
    result.recordedSeconds = (await probe(path)).durationSec;
    result.fileBytes = (await stat(path)).size;
  } catch (err) {
    result.problem = `the file does not probe: ${err instanceof Error ? err.message : String(err)}`;
  }
  return result;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, abort: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (abort()) return;
    if (Date.now() > deadline) throw new Error(`not listening within ${timeoutMs} ms`);
    await delay(50);
  }
}
