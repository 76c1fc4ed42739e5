// `make run`: nats-server (loopback only, its own data folder) and the three services as local processes,
// with the embedded defaults; RECORDERS=N starts N recorders. Like compose's restart policy and Kubernetes,
// a process that dies unexpectedly is started again after a backoff instead of ending the stack. Ctrl-C
// (or SIGTERM) stops them in reverse order, so recordings in progress are finalized.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NATS_SERVICES, natsAuthorizationConfig, natsUser, type NatsService } from '@recstack/contracts';
import { createLogger, RestartingProcess, SupervisedProcess, type RestartScheduled } from '@recstack/service-kit';
import { checkSocketBuffers, raiseSocketBuffers, readSocketBufferSettings } from '@recstack/media';

const root = resolve(import.meta.dirname, '..');
const logger = createLogger('run-local', 'silent');

/** A whole number from the environment, or the default; anything else stops `make run` with a sentence. */
function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`make run: ${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const natsPort = intFromEnv('NATS_PORT', 4222, 1, 65535);
const httpPort = intFromEnv('HTTP_PORT', 8080, 0, 65535);
const recorders = intFromEnv('RECORDERS', 1, 1, 32);
const mediaOpsPort = intFromEnv('MEDIA_OPS_PORT', 9101, 1, 65535);
/** recorder i (from 1) answers /healthz, /readyz and /metrics on RECORDER_OPS_PORT + i - 1 */
const recorderOpsPort = intFromEnv('RECORDER_OPS_PORT', 9102, 1, 65535 - recorders);
const recordingsDir = resolve(root, process.env.RECORDINGS_DIR ?? 'recordings');
/** where nats-server keeps its configuration and JetStream data (a test runs its own stack elsewhere) */
const runDir = resolve(root, process.env.RUN_DIR ?? '.run');
const dataDir = resolve(runDir, 'nats');
mkdirSync(recordingsDir, { recursive: true });
mkdirSync(dataDir, { recursive: true });

// The local nats-server is never open: each service is its own NATS user, allowed only its subjects
// (packages/contracts/src/nats-permissions.ts), with a fresh password per run. With NATS_URL (a server of
// your own) the services connect with the NATS_* credentials of this environment instead.
const ownNats = !process.env.NATS_URL;
const natsPasswords = Object.fromEntries(NATS_SERVICES.map((s) => [s, randomBytes(18).toString('base64url')])) as Record<NatsService, string>;

/** nats-server's configuration, in a file only we can read, so the credentials never show in `ps`. */
function writeNatsConfig(): string {
  const path = resolve(runDir, 'nats.conf');
  const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, { literal: natsPasswords[s] }])) as Record<NatsService, { literal: string }>;
  const conf = [`listen: "127.0.0.1:${natsPort}"`, `jetstream { store_dir: ${JSON.stringify(dataDir)} }`, natsAuthorizationConfig(passwords), ''].join('\n');
  writeFileSync(path, conf, { mode: 0o600 });
  return path;
}

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NATS_URL: process.env.NATS_URL ?? `nats://127.0.0.1:${natsPort}`,
  RECORDINGS_DIR: recordingsDir,
  HTTP_PORT: String(httpPort),
};

/** A service's environment: its own NATS user on our nats-server (no shared token). */
function serviceEnv(service: NatsService, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (!ownNats) return { ...env, ...extra };
  const { NATS_TOKEN: _token, ...rest } = env;
  return { ...rest, NATS_USER: natsUser(service), NATS_PASSWORD: natsPasswords[service], ...extra };
}

interface Service {
  name: string;
  supervisor: RestartingProcess;
  /** resolves when the first process of this service is ready; rejects if it exits before */
  ready: Promise<void>;
}

const services: Service[] = [];
let stopping = false;

function paint(name: string, line: string): string {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, service: _s, pid: _p, name: _n, hostname: _h, ...rest } = entry;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    const clock = typeof time === 'string' ? time.slice(11, 19) : '';
    return `${clock} ${name.padEnd(10)} ${String(level).padEnd(5)} ${String(msg)}${extra}`;
  } catch {
    return `${''.padEnd(8)} ${name.padEnd(10)} ${line}`;
  }
}

function describeExit(r: RestartScheduled): string {
  const how = r.exit.signal ? `signal ${r.exit.signal}` : `exit code ${r.exit.code}`;
  return `run-local: ${r.name} exited unexpectedly (${how}, after ${(r.ranMs / 1000).toFixed(1)} s); restart ${r.restarts} in ${(r.delayMs / 1000).toFixed(1)} s`;
}

/**
 * Starts a service under a RestartingProcess. `childEnv` is asked on every start. A service that dies
 * before it was ever ready ends `make run` (a configuration or installation problem a restart cannot fix);
 * after that, it is restarted.
 */
function start(name: string, command: string, args: () => string[], childEnv: () => NodeJS.ProcessEnv, readyWhen: (line: string) => boolean): Service {
  // own process group: Ctrl-C reaches only this launcher, which then stops the services in order
  const spawn = () => new SupervisedProcess(command, args(), logger, { cwd: root, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const supervisor = new RestartingProcess(name, spawn, logger);
  let everReady = false;
  let waitingForReady = true;
  const ready = new Promise<void>((resolveReady, reject) => {
    supervisor.on('line', (line) => {
      console.log(paint(name, line));
      if (waitingForReady && readyWhen(line)) {
        waitingForReady = false;
        if (everReady) console.log(`run-local: ${name} is ready again`);
        everReady = true;
        resolveReady();
      }
    });
    supervisor.on('started', ({ pid, restarts }) => {
      waitingForReady = true;
      console.log(`run-local: ${name} started (pid ${pid})${restarts > 0 ? `, restart ${restarts}` : ''}`);
    });
    supervisor.on('exit', (exit) => {
      if (stopping || everReady) return;
      reject(new Error(`${name} exited before it was ready (code ${exit.code}, signal ${exit.signal})`));
    });
    supervisor.on('restarting', (r) => {
      if (!everReady || stopping) return;
      console.error(describeExit(r));
    });
  });
  ready.catch(() => undefined);
  const service = { name, supervisor, ready };
  services.push(service);
  supervisor.start();
  return service;
}

async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => undefined);
  stopping = true;
  console.log('\nstopping: signaling, media, the recorders (finalizing recordings), then nats-server');
  const ladder = [
    { action: 'SIGTERM' as const, waitMs: 45_000 },
    { action: 'SIGKILL' as const, waitMs: 5_000 },
  ];
  const byStage = (prefix: string) => services.filter((s) => s.name === prefix || s.name.startsWith(`${prefix}-`));
  for (const stage of ['signaling', 'media', 'recorder', 'nats']) {
    // the recorders finalize side by side; the stages one after the other
    await Promise.all(byStage(stage).map((s) => s.supervisor.stop(ladder)));
  }
  process.exit(code);
}

/**
 * Media's UDP sockets get the kernel's default receive buffer, too small for many publishers at once. As
 * root, raise it (host-wide, until reboot: said so); otherwise media itself prints the line to run.
 * RECSTACK_KEEP_SYSCTL=1 leaves the host alone.
 */
function raiseReceiveBuffers(): void {
  const settings = readSocketBufferSettings();
  if (!settings || checkSocketBuffers(settings).ok || process.getuid?.() !== 0 || process.env.RECSTACK_KEEP_SYSCTL === '1') return;
  try {
    for (const c of raiseSocketBuffers(settings)) {
      console.log(
        `run-local: raised net.core.${c.name} from ${c.from} to ${c.to} bytes for media's UDP sockets (host-wide, until reboot; RECSTACK_KEEP_SYSCTL=1 to skip)`,
      );
    }
  } catch (err) {
    console.log(`run-local: could not raise net.core.rmem_default (${err instanceof Error ? err.message : String(err)}); media will say what to run`);
  }
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  raiseReceiveBuffers();
  if (ownNats) {
    const config = writeNatsConfig();
    await start(
      'nats',
      'nats-server',
      () => ['-c', config],
      () => env,
      (l) => l.includes('Server is ready'),
    ).ready;
  }
  const isReady = (line: string) => line.includes('"msg":"service ready"');
  const entry = (name: string) => () => [resolve(root, 'services', name, 'dist', 'main.js')];
  const pending: Array<Promise<void>> = [];
  for (let i = 1; i <= recorders; i++) {
    const name = recorders === 1 ? 'recorder' : `recorder-${i}`;
    // a new id on every start, as a new container or pod gets: media sees the old one go and this one come
    const recorderEnv = () => serviceEnv('recorder', { OPS_PORT: String(recorderOpsPort + i - 1), RECORDER_ID: `local${i}-${randomBytes(4).toString('hex')}` });
    pending.push(start(name, process.execPath, entry('recorder'), recorderEnv, isReady).ready);
  }
  await Promise.all(pending);
  await start('media', process.execPath, entry('media'), () => serviceEnv('media', { OPS_PORT: String(mediaOpsPort) }), isReady).ready;
  await start('signaling', process.execPath, entry('signaling'), () => serviceEnv('signaling'), isReady).ready;
  const recorderNote = recorders === 1 ? '' : `  ${recorders} recorders (ops ports ${recorderOpsPort}-${recorderOpsPort + recorders - 1})\n`;
  console.log(
    `\n  Recording stack is up:  http://localhost:${httpPort}\n${recorderNote}  Recordings are written to ${recordingsDir}\n  A service that dies is restarted; press Ctrl-C to stop (recordings in progress are finalized).\n`,
  );
}

main().catch((err: unknown) => {
  console.error(`make run failed: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
