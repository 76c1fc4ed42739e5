// `make run`: nats-server (loopback only, its own data folder) and the three services as local processes,
// with the embedded defaults. Ctrl-C stops them in reverse order, so recordings in progress are finalized.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

// The local nats-server is never open: it takes the configured credentials, or a fresh token per run.
const ownNats = !process.env.NATS_URL;
const natsUser = process.env.NATS_USER;
const natsPassword = process.env.NATS_PASSWORD;
const natsToken = natsUser && natsPassword ? undefined : (process.env.NATS_TOKEN ?? randomBytes(18).toString('base64url'));

/** nats-server's configuration, in a file only we can read, so the credentials never show in `ps`. */
function writeNatsConfig(): string {
  const path = resolve(root, '.run/nats.conf');
  const auth = natsToken ? `token: ${JSON.stringify(natsToken)}` : `user: ${JSON.stringify(natsUser)}, password: ${JSON.stringify(natsPassword)}`;
  const conf = [
    `listen: "127.0.0.1:${natsPort}"`,
    `jetstream { store_dir: ${JSON.stringify(dataDir)} }`,
    `authorization { ${auth} }`,
    '',
  ].join('\n');
  writeFileSync(path, conf, { mode: 0o600 });
  return path;
}

const env = {
  ...process.env,
  ...(natsToken && ownNats ? { NATS_TOKEN: natsToken } : {}),
  NATS_URL: process.env.NATS_URL ?? `nats://127.0.0.1:${natsPort}`,
  RECORDINGS_DIR: recordingsDir,
  HTTP_PORT: httpPort,
};

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

function start(name: string, command: string, args: string[], readyWhen: (line: string) => boolean, log: Logger): Child {
  // own process group: Ctrl-C reaches only this launcher, which then stops the services in order
  const child = new SupervisedProcess(command, args, log, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
  for (const name of ['recorder', 'media', 'signaling']) {
    const service = start(name, process.execPath, [resolve(root, 'services', name, 'dist', 'main.js')], isReady, logger);
    await service.ready;
  }
  console.log(`\n  Recording stack is up:  http://localhost:${httpPort}\n  Recordings are written to ${recordingsDir}\n  Press Ctrl-C to stop (recordings in progress are finalized).\n`);
}

main().catch((err: unknown) => {
  console.error(`make run failed: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
