// `make run`: nats-server (loopback only, its own data folder) and the three services as local processes,
// with the embedded defaults. Ctrl-C stops them in reverse order, so recordings in progress are finalized.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NATS_SERVICES, natsAuthorizationConfig, natsUser, type NatsService } from '@recstack/contracts';
import { createLogger, SupervisedProcess, type Logger } from '@recstack/service-kit';
import { checkSocketBuffers, raiseSocketBuffers, readSocketBufferSettings } from '../services/media/src/socket-buffers.js';

const root = resolve(import.meta.dirname, '..');
const logger = createLogger('run-local', 'silent');
const natsPort = process.env.NATS_PORT ?? '4222';
const httpPort = process.env.HTTP_PORT ?? '8080';
const recordingsDir = resolve(root, process.env.RECORDINGS_DIR ?? 'recordings');
const dataDir = resolve(root, '.run/nats');
mkdirSync(recordingsDir, { recursive: true });
mkdirSync(dataDir, { recursive: true });

// The local nats-server is never open: each service is its own NATS user, allowed only its subjects
// (packages/contracts/src/nats-permissions.ts), with a fresh password per run. With NATS_URL (a server of
// your own) the services connect with the NATS_* credentials of this environment instead.
const ownNats = !process.env.NATS_URL;
const natsPasswords = Object.fromEntries(NATS_SERVICES.map((s) => [s, randomBytes(18).toString('base64url')])) as Record<NatsService, string>;

/** nats-server's configuration, in a file only we can read, so the credentials never show in `ps`. */
function writeNatsConfig(): string {
  const path = resolve(root, '.run/nats.conf');
  const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, { literal: natsPasswords[s] }])) as Record<NatsService, { literal: string }>;
  const conf = [
    `listen: "127.0.0.1:${natsPort}"`,
    `jetstream { store_dir: ${JSON.stringify(dataDir)} }`,
    natsAuthorizationConfig(passwords),
    '',
  ].join('\n');
  writeFileSync(path, conf, { mode: 0o600 });
  return path;
}

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NATS_URL: process.env.NATS_URL ?? `nats://127.0.0.1:${natsPort}`,
  RECORDINGS_DIR: recordingsDir,
  HTTP_PORT: httpPort,
};

/** A service's environment: its own NATS user on our nats-server (no shared token). */
function serviceEnv(service: NatsService): NodeJS.ProcessEnv {
  if (!ownNats) return env;
  const { NATS_TOKEN: _token, ...rest } = env;
  return { ...rest, NATS_USER: natsUser(service), NATS_PASSWORD: natsPasswords[service] };
}

interface Child {
  name: string;
  process: SupervisedProcess;
  ready: Promise<void>;
}

const children: Child[] = [];
let stopping = false;

function paint(name: string, line: string): string {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, service: _s, pid: _p, name: _n, hostname: _h, ...rest } = entry;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    const clock = typeof time === 'string' ? time.slice(11, 19) : '';
    return `${clock} ${name.padEnd(9)} ${String(level).padEnd(5)} ${String(msg)}${extra}`;
  } catch {
    return `${''.padEnd(8)} ${name.padEnd(9)} ${line}`;
  }
}

function start(name: string, command: string, args: string[], readyWhen: (line: string) => boolean, log: Logger, childEnv: NodeJS.ProcessEnv = env): Child {
  // own process group: Ctrl-C reaches only this launcher, which then stops the services in order
  const child = new SupervisedProcess(command, args, log, { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const ready = new Promise<void>((resolveReady, reject) => {
    child.on('line', (line) => {
      console.log(paint(name, line));
      if (readyWhen(line)) resolveReady();
    });
    child.on('exit', (exit) => {
      reject(new Error(`${name} exited (code ${exit.code}, signal ${exit.signal})`));
      if (!stopping) {
        console.error(`\n${name} stopped unexpectedly (code ${exit.code}, signal ${exit.signal}); stopping everything`);
        void shutdown(1);
      }
    });
  });
  ready.catch(() => undefined);
  const entry = { name, process: child, ready };
  children.push(entry);
  return entry;
}

async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => undefined);
  stopping = true;
  console.log('\nstopping: signaling, media, recorder (finalizing recordings), then nats-server');
  for (const child of [...children].reverse()) {
    await child.process.stop([
      { action: 'SIGTERM', waitMs: 45_000 },
      { action: 'SIGKILL', waitMs: 5_000 },
    ]);
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
      console.log(`run-local: raised net.core.${c.name} from ${c.from} to ${c.to} bytes for media's UDP sockets (host-wide, until reboot; RECSTACK_KEEP_SYSCTL=1 to skip)`);
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
    const nats = start('nats', 'nats-server', ['-c', writeNatsConfig()], (l) => l.includes('Server is ready'), logger);
    await nats.ready;
  }
  const isReady = (line: string) => line.includes('"msg":"service ready"');
  for (const name of ['recorder', 'media', 'signaling'] as const) {
    const service = start(name, process.execPath, [resolve(root, 'services', name, 'dist', 'main.js')], isReady, logger, serviceEnv(name));
    await service.ready;
  }
  console.log(`\n  Recording stack is up:  http://localhost:${httpPort}\n  Recordings are written to ${recordingsDir}\n  Press Ctrl-C to stop (recordings in progress are finalized).\n`);
}

main().catch((err: unknown) => {
  console.error(`make run failed: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
