import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsCluster, startNatsServer, type TestNatsCluster, type TestNatsServer } from './nats-server.js';
import { freeTcpPort, freeUdpRange } from './ports.js';
import { startService, type ServiceProcess } from './service-process.js';

export interface StackOptions {
  /** extra environment for every service */
  env?: Record<string, string>;
  recorderEnv?: Record<string, string>;
  mediaEnv?: Record<string, string>;
  signalingEnv?: Record<string, string>;
  recorders?: number;
  /** ports media hands to recorders (RECORDER_PORT_MIN..MAX; 4 per recording of audio and video): 100 by default */
  recorderPortCount?: number;
  /**
   * each service connects as its own NATS user with the stack's permissions (the default, so every test on
   * the stack proves them sufficient); false: one open server
   */
  natsServiceUsers?: boolean;
  /**
   * a JetStream cluster of this many nats-servers instead of one (3: the deployments' cluster option); every
   * service gets all their URLs in NATS_URL and NATS_KV_REPLICAS = min(3, size) unless `env` sets it
   */
  natsCluster?: number;
}

export interface TestStack {
  /**
   * the NATS server; with `natsCluster` the whole cluster seen as one: `url` is its first node's (for a test's
   * own client, which learns the others from it), kill and start act on every node
   */
  nats: TestNatsServer;
  /** with `natsCluster`: its nodes, to take one away */
  natsCluster: TestNatsCluster | undefined;
  recorders: ServiceProcess[];
  media: ServiceProcess;
  signaling: ServiceProcess;
  baseUrl: string;
  recordingsDir: string;
  /** the environment the services were started with, for restarting one of them */
  envFor(name: 'signaling' | 'media' | 'recorder', index?: number): Record<string, string>;
  stop(): Promise<void>;
}

/**
 * nats-server and the three services as real processes on loopback, with free ports and a temporary
 * recordings folder.
 */
export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const serviceUsers = options.natsServiceUsers ?? true;
  const cluster = options.natsCluster ? await startNatsCluster({ size: options.natsCluster, serviceUsers }) : undefined;
  const nats = cluster ? clusterAsOneServer(cluster) : await startNatsServer({ serviceUsers });
  const natsEnv: Record<string, string> = cluster
    ? { NATS_URL: cluster.url, NATS_KV_REPLICAS: String(Math.min(3, cluster.nodes.length)) }
    : { NATS_URL: nats.url };
  const natsAuth = (service: 'signaling' | 'media' | 'recorder'): Record<string, string> => {
    const credentials = nats.credentials(service);
    return credentials ? { NATS_USER: credentials.user, NATS_PASSWORD: credentials.password } : {};
  };
  const recordingsDir = await mkdtemp(join(tmpdir(), 'recstack-recordings-'));
  const started: ServiceProcess[] = [];
  try {
    const httpPort = await freeTcpPort();
    const mediaUdp = {
      min: Number(options.mediaEnv?.MEDIA_UDP_PORT_MIN ?? 0),
      max: Number(options.mediaEnv?.MEDIA_UDP_PORT_MAX ?? 0),
    };
    if (!mediaUdp.min || !mediaUdp.max) Object.assign(mediaUdp, await freeUdpRange(60));
    // two random blocks can overlap, and media refuses ranges that do: draw the recorders' again until apart
    const recorderPortCount = options.recorderPortCount ?? 100;
    const recorderPorts = await freeUdpRange(recorderPortCount, undefined, undefined, [mediaUdp]);
    const common = { ...natsEnv, RECORDINGS_DIR: recordingsDir, ...options.env };
    const recorderEnvs: Array<Record<string, string>> = [];
    const recorders: ServiceProcess[] = [];
    for (let i = 0; i < (options.recorders ?? 1); i++) {
      // no CPU rule unless asked (RECORDER_MAX_CPU in recorderEnv): on a shared test machine other people's
      // load would refuse starts in tests about something else; the cost rule still applies
      const env = {
        ...common,
        ...natsAuth('recorder'),
        OPS_PORT: String(await freeTcpPort()),
        RECORDER_MAX_CPU: '100',
        ...options.env,
        ...options.recorderEnv,
      };
      recorderEnvs.push(env);
      const recorder = await startService('recorder', env);
      started.push(recorder);
      recorders.push(recorder);
    }
    const mediaEnv = {
      ...common,
      ...natsAuth('media'),
      OPS_PORT: String(await freeTcpPort()),
      MEDIA_UDP_PORT_MIN: String(mediaUdp.min),
      MEDIA_UDP_PORT_MAX: String(mediaUdp.max),
      RECORDER_PORT_MIN: String(recorderPorts.min),
      RECORDER_PORT_MAX: String(recorderPorts.max),
      ...options.mediaEnv,
    };
    const media = await startService('media', mediaEnv);
    started.push(media);
    const signalingEnv = { ...common, ...natsAuth('signaling'), HTTP_HOST: '127.0.0.1', HTTP_PORT: String(httpPort), ...options.signalingEnv };
    const signaling = await startService('signaling', signalingEnv);
    started.push(signaling);
    return {
      nats,
      natsCluster: cluster,
      recorders,
      media,
      signaling,
      baseUrl: `http://127.0.0.1:${httpPort}`,
      recordingsDir,
      envFor: (name, index = 0) => (name === 'media' ? mediaEnv : name === 'signaling' ? signalingEnv : (recorderEnvs[index] ?? {})),
      stop: async () => {
        for (const service of [...started].reverse()) await service.stop();
        const violations = nats.violations();
        await nats.stop();
        await rm(recordingsDir, { recursive: true, force: true });
        // the services run with the deployments' NATS permissions: one they lack fails the test that ran them
        if (violations.length > 0)
          throw new Error(`nats-server refused a service (a permission missing from nats-permissions.ts?):\n${violations.slice(0, 20).join('\n')}`);
      },
    };
  } catch (err) {
    for (const service of started.reverse()) await service.stop('SIGKILL');
    await nats.stop();
    throw err;
  }
}

/** The cluster behind the one-server interface: the tests and harnesses that restart "NATS" restart all of it. */
function clusterAsOneServer(cluster: TestNatsCluster): TestNatsServer {
  const first = cluster.nodes[0];
  if (!first) throw new Error('a NATS cluster needs a node');
  return {
    url: first.url,
    port: first.port,
    storeDir: '',
    credentials: (service) => cluster.credentials(service),
    output: () => cluster.nodes.map((n) => `[${n.name}]\n${n.output()}`).join('\n'),
    violations: () => cluster.violations(),
    pid: () => first.pid(),
    kill: async (hard) => {
      await Promise.all(cluster.nodes.map((n) => n.kill(hard)));
    },
    start: async () => {
      await Promise.all(cluster.nodes.map((n) => n.start()));
      await cluster.waitForJetStream();
    },
    stop: () => cluster.stop(),
  };
}
