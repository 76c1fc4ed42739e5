import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, freeUdpRange, REPO_ROOT } from '@recstack/testkit';

/**
 * `make run` as a user runs it (scripts/run-local.ts with the built services), with RECORDERS=2, its own
 * ports and folders: a recorder killed with SIGKILL is started again and the stack is whole again; SIGTERM
 * still stops everything.
 */

interface Readyz {
  status: 'ready' | 'not-ready';
  checks: { nats: boolean; media: number; recorders: number };
}

let child: ChildProcess;
let output = '';
let httpPort = 0;
const dirs: string[] = [];

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** two consecutive free TCP ports: recorder i gets RECORDER_OPS_PORT + i - 1 */
async function freeTcpPair(): Promise<number> {
  for (;;) {
    const port = await freeTcpPort();
    if (port < 65535 && (await tcpPortFree(port + 1))) return port;
  }
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (child.exitCode !== null) throw new Error(`make run exited (${child.exitCode}) while waiting for ${what}:\n${output.slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readyz(): Promise<Readyz | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(3000) });
    return response.ok ? ((await response.json()) as Readyz) : undefined;
  } catch {
    return undefined;
  }
}

/** pids printed by run-local for a service, in order: the first start, then each restart */
function pidsOf(name: string): number[] {
  return [...output.matchAll(new RegExp(`run-local: ${name} started \\(pid (\\d+)\\)`, 'g'))].map((m) => Number(m[1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  httpPort = await freeTcpPort();
  const mediaUdp = await freeUdpRange(60);
  const recorderUdp = await freeUdpRange(100, undefined, undefined, [mediaUdp]);
  const recordingsDir = await mkdtemp(join(tmpdir(), 'recstack-make-run-recordings-'));
  const runDir = await mkdtemp(join(tmpdir(), 'recstack-make-run-'));
  dirs.push(recordingsDir, runDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RECORDERS: '2',
    NATS_PORT: String(await freeTcpPort()),
    HTTP_PORT: String(httpPort),
    MEDIA_OPS_PORT: String(await freeTcpPort()),
    RECORDER_OPS_PORT: String(await freeTcpPair()),
    RECORDINGS_DIR: recordingsDir,
    RUN_DIR: runDir,
    MEDIA_UDP_PORT_MIN: String(mediaUdp.min),
    MEDIA_UDP_PORT_MAX: String(mediaUdp.max),
    RECORDER_PORT_MIN: String(recorderUdp.min),
    RECORDER_PORT_MAX: String(recorderUdp.max),
    RECSTACK_KEEP_SYSCTL: '1',
  };
  for (const name of ['NATS_URL', 'NATS_TOKEN', 'NATS_USER', 'NATS_PASSWORD', 'NODE_ENV']) delete env[name];
  // exactly what the Makefile's `run` target runs after setup
  child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-local.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      output += chunk;
      if (process.env.TEST_ECHO_LOGS === '1') process.stderr.write(chunk);
    });
  }
  await waitFor(() => (output.includes('Recording stack is up') ? true : undefined), 'the stack to come up', 120_000);
});

after(async () => {
  if (child.exitCode === null) {
    child.kill('SIGKILL');
    // the services live in their own process groups: end what this test started
    for (const name of ['nats', 'recorder-1', 'recorder-2', 'media', 'signaling']) for (const pid of pidsOf(name)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('RECORDERS=2 starts two recorders, each its own process; /readyz counts both', async () => {
  assert.equal(pidsOf('recorder-1').length, 1);
  assert.equal(pidsOf('recorder-2').length, 1);
  assert.notEqual(pidsOf('recorder-1')[0], pidsOf('recorder-2')[0]);
  const status = await waitFor(
    async () => {
      const r = await readyz();
      return r?.checks.recorders === 2 && r.checks.media === 1 ? r : undefined;
    },
    'two recorders and media in /readyz',
    30_000,
  );
  assert.equal(status.status, 'ready');
});

test('a recorder killed with SIGKILL is restarted with backoff and the stack is whole again', async () => {
  const [victim] = pidsOf('recorder-2');
  assert.ok(victim && alive(victim));
  process.kill(victim, 'SIGKILL');
  const line = await waitFor(
    () => /run-local: recorder-2 exited unexpectedly \(signal SIGKILL, after [\d.]+ s\); restart 1 in ([\d.]+) s/.exec(output) ?? undefined,
    'the restart line',
    30_000,
  );
  assert.ok(Number(line[1]) > 0, 'a backoff before the restart');
  const [, restarted] = await waitFor(() => (pidsOf('recorder-2').length === 2 ? pidsOf('recorder-2') : undefined), 'a new recorder-2 process', 30_000);
  assert.ok(restarted !== undefined && restarted !== victim && alive(restarted));
  assert.equal(alive(victim), false, 'the killed process is gone (and reaped)');
  await waitFor(() => (output.includes('run-local: recorder-2 is ready again') ? true : undefined), 'recorder-2 ready again', 60_000);
  await waitFor(async () => ((await readyz())?.checks.recorders === 2 ? true : undefined), 'two recorders in /readyz again', 30_000);
  assert.equal(pidsOf('recorder-1').length, 1, 'the other recorder was left alone');
  assert.equal(pidsOf('signaling').length, 1);
  assert.equal(pidsOf('media').length, 1);
});

test('SIGTERM stops every process and make run exits 0', async () => {
  const pids = ['nats', 'recorder-1', 'recorder-2', 'media', 'signaling'].flatMap((name) => pidsOf(name).slice(-1));
  assert.equal(pids.length, 5);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  assert.equal(code, 0, output.slice(-3000));
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} is gone`);
  assert.doesNotMatch(output.slice(output.indexOf('stopping:')), /exited unexpectedly/, 'nothing restarted during the shutdown');
});
