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
  /** the running server's process id; undefined while it is killed */
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
  const users = options.serviceUsers ? await writeServiceUsersConfig(storeDir) : undefined;
  if (users) args.push('-c', users.conf);
  const node = natsProcess(args, port, options);
  await node.start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    credentials: (service) => users?.credentials.get(service),
    output: node.output,
    violations: node.violations,
    pid: node.pid,
    kill: node.kill,
    start: node.start,
    stop: async () => {
      await node.kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export interface NatsClusterOptions {
  /** servers in the cluster (3) */
  size?: number;
  /** as for one server: a NATS user per service with the stack's permissions, on every node */
  serviceUsers?: boolean;
}

/** One server of a test cluster. */
export interface TestNatsNode {
  /** its server name (`n1`, `n2`, ...) */
  name: string;
  url: string;
  port: number;
  /** the names of the client connections it holds now (the services name theirs: `media <id>`, `recorder <id>`, `signaling`) */
  clients(): Promise<string[]>;
  output(): string;
  pid(): number | undefined;
  /** kills this server (SIGKILL when `hard`), keeping its store: `start()` brings it back into the cluster */
  kill(hard?: boolean): Promise<void>;
  start(): Promise<void>;
}

/**
 * A real JetStream cluster of nats-servers on loopback, as the deployments' 3-node option runs it: each node
 * its own client, route and monitoring port and store, routes to all the others. `url` is the comma-separated
 * list a service takes as NATS_URL; `urls` the same as an array, for a test's own client.
 */
export interface TestNatsCluster {
  url: string;
  urls: string[];
  nodes: TestNatsNode[];
  credentials(service: NatsService): NatsCredentials | undefined;
  /** the permission violations any node logged */
  violations(): string[];
  /** resolves once the cluster's JetStream answers (a meta leader is elected) */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<TestNatsCluster> {
  const size = options.size ?? 3;
  const ports = await distinctFreePorts(size * 3);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size, 2 * size);
  const monitorPorts = ports.slice(2 * size);
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  const root = await mkdtemp(join(tmpdir(), 'recstack-nats-cluster-'));
  const users = options.serviceUsers ? await writeServiceUsersConfig(root) : undefined;
  const nodes: Array<TestNatsNode & { violations(): string[] }> = [];
  for (let i = 0; i < size; i++) {
    const name = `n${i + 1}`;
    const port = clientPorts[i] ?? 0;
    const monitorPort = monitorPorts[i] ?? 0;
    const storeDir = join(root, name);
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(monitorPort),
      '-js',
      '-sd',
      storeDir,
      '-n',
      name,
      '--cluster_name',
      'recstack',
      '--cluster',
      `nats://127.0.0.1:${routePorts[i] ?? 0}`,
      '--routes',
      routes,
    ];
    if (users) args.push('-c', users.conf);
    const node = natsProcess(args, port, {});
    nodes.push({
      name,
      url: `nats://127.0.0.1:${port}`,
      port,
      clients: async () => {
        const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?limit=1024`);
        const body = (await res.json()) as { connections?: Array<{ name?: string }> };
        return (body.connections ?? []).map((c) => c.name ?? '');
      },
      output: node.output,
      violations: node.violations,
      pid: node.pid,
      kill: node.kill,
      start: node.start,
    });
  }
  const urls = nodes.map((n) => n.url);
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await rm(root, { recursive: true, force: true });
  };
  const waitForJetStream = async (timeoutMs = 30_000) => {
    const nc = await connect({ servers: urls, timeout: 2000 });
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await (await nc.jetstreamManager({ timeout: 2000 })).getAccountInfo();
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`the NATS cluster's JetStream did not answer: ${String(err)}`, { cause: err });
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } finally {
      await nc.close();
    }
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await waitForJetStream();
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    url: urls.join(','),
    urls,
    nodes,
    credentials: (service) => users?.credentials.get(service),
    violations: () => nodes.flatMap((n) => n.violations()),
    waitForJetStream,
    stop: stopAll,
  };
}

/** free ports that are also distinct from each other (each probe frees its port at once, so two can repeat) */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freeTcpPort());
  return [...ports];
}

/**
 * The stack's permissions (nats-permissions.ts) with a fresh password per service user, written to
 * `dir/nats.conf`; clients without credentials (the tests' own) connect as an unrestricted test user.
 */
async function writeServiceUsersConfig(dir: string): Promise<{ conf: string; credentials: Map<NatsService, NatsCredentials> }> {
  const credentials = new Map<NatsService, NatsCredentials>();
  for (const service of NATS_SERVICES) credentials.set(service, { user: natsUser(service), password: randomBytes(18).toString('base64url') });
  const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, { literal: credentials.get(s)?.password ?? '' }])) as Record<
    NatsService,
    { literal: string }
  >;
  const testUser = { user: 'testkit', password: randomBytes(18).toString('base64url') };
  const conf = join(dir, 'nats.conf');
  await writeFile(
    conf,
    `${natsAuthorizationConfig(passwords, [testUser])}
no_auth_user: ${JSON.stringify(testUser.user)}
`,
    { mode: 0o600 },
  );
  return { conf, credentials };
}

/** One nats-server process that can be killed and started again with the same arguments. */
function natsProcess(args: string[], port: number, auth: { user?: string; password?: string }) {
  let child: ChildProcess | undefined;
  let output = '';
  const violations: string[] = [];

  const start = async () => {
    output = '';
    const proc = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const collect = (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const line of text.split('\n')) if (/(Publish|Subscription) Violation/.test(line)) violations.push(line.trim());
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const nc = await connect({
          servers: `nats://127.0.0.1:${port}`,
          user: auth.user,
          pass: auth.password,
          timeout: 1000,
        });
        await nc.close();
        return;
      } catch (err) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`nats-server did not start: ${String(err)}\n${output}`, { cause: err });
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

  return {
    start,
    kill,
    output: () => output,
    violations: () => [...violations],
    // undefined once it exited: a killed server has no process until start()
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
  };
}
