/**
 * Test support: nats-server and the media service as real processes on free ports, a NATS client for
 * the test, raw request helpers, an event recorder and a /metrics reader.
 */
import { connect, type NatsConnection, type Subscription } from 'nats';
import { BUCKETS, PublisherSessionSchema, type PublisherSession } from '@recstack/contracts';
import { freeTcpPort, freeUdpRange, startNatsServer, startService, type ServiceProcess, type TestNatsServer } from '@recstack/testkit';

export interface MediaHarness {
  nats: TestNatsServer;
  nc: NatsConnection;
  media: ServiceProcess;
  mediaId: string;
  opsUrl: string;
  recorderPorts: { min: number; max: number };
  env: Record<string, string>;
  /** starts another media process with the same environment (after the first was stopped) */
  restartMedia(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export async function startMediaHarness(env: Record<string, string> = {}, recorderPortCount = 40): Promise<MediaHarness> {
  // media connects as its own NATS user (the stack's permissions); the tests' client has no limits
  const nats = await startNatsServer({ serviceUsers: true });
  const credentials = nats.credentials('media');
  const nc = await connect({ servers: nats.url });
  const udp = await freeUdpRange(60);
  const recorderPorts = await freeUdpRange(recorderPortCount, undefined, undefined, [udp]);
  const opsPort = await freeTcpPort();
  const mediaId = `med_test${Math.random().toString(36).slice(2, 10)}`;
  const fullEnv: Record<string, string> = {
    NATS_URL: nats.url,
    ...(credentials ? { NATS_USER: credentials.user, NATS_PASSWORD: credentials.password } : {}),
    MEDIA_ID: mediaId,
    OPS_PORT: String(opsPort),
    MEDIA_UDP_PORT_MIN: String(udp.min),
    MEDIA_UDP_PORT_MAX: String(udp.max),
    RECORDER_PORT_MIN: String(recorderPorts.min),
    RECORDER_PORT_MAX: String(recorderPorts.max),
    SHUTDOWN_TIMEOUT_SECONDS: '20',
    ...env,
  };
  let media: ServiceProcess;
  try {
    media = await startService('media', fullEnv);
  } catch (err) {
    await nc.close();
    await nats.stop();
    throw err;
  }
  const harness: MediaHarness = {
    nats,
    nc,
    media,
    mediaId,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    recorderPorts,
    env: fullEnv,
    restartMedia: async (extra = {}) => {
      harness.media = await startService('media', { ...fullEnv, ...extra });
      return harness.media;
    },
    stop: async () => {
      await harness.media.stop('SIGTERM', 30_000);
      await nc.close();
      await nats.stop();
    },
  };
  return harness;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A reply envelope as it arrived: the test parses `result` with the reply's schema. */
export interface RawReply {
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** A request with a raw payload; resolves with the parsed reply envelope. */
export async function rawRequest(nc: NatsConnection, subject: string, payload: unknown, timeoutMs = 15_000): Promise<RawReply> {
  const data = payload instanceof Uint8Array ? payload : encoder.encode(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const msg = await nc.request(subject, data, { timeout: timeoutMs });
  return JSON.parse(decoder.decode(msg.data)) as RawReply;
}

/** Collects every event published on a subject pattern. */
export class EventLog<T extends { type: string }> {
  readonly events: Array<{ subject: string; event: T }> = [];
  private readonly sub: Subscription;

  constructor(nc: NatsConnection, subject: string) {
    this.sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        this.events.push({ subject: msg.subject, event: JSON.parse(decoder.decode(msg.data)) as T });
      },
    });
  }

  of(subject: string): T[] {
    return this.events.filter((e) => e.subject === subject).map((e) => e.event);
  }

  async waitFor(subject: string, type: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.of(subject).find((e) => e.type === type);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no ${type} event on ${subject} within ${timeoutMs} ms; saw ${JSON.stringify(this.of(subject))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

export async function sessionEntry(nc: NatsConnection, sessionId: string): Promise<PublisherSession | undefined> {
  const kv = await nc.jetstream().views.kv(BUCKETS.sessions, { bindOnly: true });
  const entry = await kv.get(sessionId);
  if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
  return PublisherSessionSchema.parse(entry.json());
}

/** The value of one metric series from /metrics (labels must match exactly the ones given, in any order). */
export async function metricValue(opsUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const m of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[m[1] ?? ''] = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
