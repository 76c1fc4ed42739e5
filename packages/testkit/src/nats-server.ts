import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NATS_SERVICES, natsAuthorizationConfig, natsUser, type NatsService } from '@recstack/contracts';
import { connect } from 'nats';
import { freeTcpPort } from './ports.js';

export interface NatsServerOptions {
  user?: string;
  password?: string;
  /**
   * one NATS user per service with the stack's permissions (nats-permissions.ts), fresh passwords; clients
   * without credentials (the tests' own) connect as an unrestricted test user
   */
  serviceUsers?: boolean;
}

export interface NatsCredentials {
  user: string;
  password: string;
}

export interface TestNatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** with `serviceUsers`: the service's user and password (NATS_USER, NATS_PASSWORD) */
  credentials(service: NatsService): NatsCredentials | undefined;
  /** everything nats-server printed since its last start */
  output(): string;
  /** the permission violations nats-server logged (over restarts too): a service lacking a permission it needs */
  violations(): string[];
  /** the running server's process id */
  pid(): number | undefined;
  /** kills the server (SIGKILL when `hard`) and keeps its store, so `start()` brings the same data back */
  kill(hard?: boolean): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A real nats-server with JetStream on a free loopback port and its own store directory. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<TestNatsServer> {
  const port = await freeTcpPort();
  const storeDir = await mkdtemp(join(tmpdir(), 'recstack-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (options.user && options.password) args.push('--user', options.user, '--pass', options.password);
  const credentials = new Map<NatsService, NatsCredentials>();
  if (options.serviceUsers) {
    for (const service of NATS_SERVICES) credentials.set(service, { user: natsUser(service), password: randomBytes(18).toString('base64url') });
    const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, { literal: credentials.get(s)?.password ?? '' }])) as Record<NatsService, { literal: string }>;
    const testUser = { user: 'testkit', password: randomBytes(18).toString('base64url') };
    const conf = join(storeDir, 'nats.conf');
    await writeFile(conf, `${natsAuthorizationConfig(passwords, [testUser])}
no_auth_user: ${JSON.stringify(testUser.user)}
`, { mode: 0o600 });
    args.push('-c', conf);
  }
  let child: ChildProcess | undefined;
  let output = '';
  const violations: string[] = [];

  const start = async () => {
    output = '';
    child = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const line of text.split('\n')) if (/(Publish|Subscription) Violation/.test(line)) violations.push(line.trim());
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const nc = await connect({
          servers: `nats://127.0.0.1:${port}`,
          user: options.user,
          pass: options.password,
          timeout: 1000,
        });
        await nc.close();
        return;
      } catch (err) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nats-server did not start: ${String(err)}\n${output}`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const kill = async (hard = false) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    credentials: (service) => credentials.get(service),
    output: () => output,
    violations: () => [...violations],
    pid: () => child?.pid,
    kill,
    start,
    stop: async () => {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}
