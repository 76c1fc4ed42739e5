import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MAX_SDP_BYTES, StorageKindSchema, type StorageKind } from '@recstack/contracts';
import { ConfigError, env, loadEnv, natsEnvSchema, natsSettings, type NatsSettings } from '@recstack/service-kit';

/** The page's static files live next to the sources (public/), whether we run from src/ or dist/. */
const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

const schema = natsEnvSchema.extend({
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_SECONDS: env.seconds(30),
  HTTP_HOST: env.string('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  RECORDINGS_DIR: env.string('./recordings'),
  /**
   * where recorders put finished files: `local` (RECORDINGS_DIR, shared with the recorders) or `nats` (the
   * JetStream object store, which signaling then creates at start if needed). Downloads follow each
   * recording's own `storage` either way, so recordings made under the other setting still play.
   */
  STORAGE: StorageKindSchema.default('local'),
  /** JetStream replicas of the buckets signaling creates (catalog, recording files); 3 on a NATS cluster */
  NATS_KV_REPLICAS: env.int(1, 1, 5),
  /** the admin token: everything. With any token set, every API, WHIP and WebSocket call needs `Authorization: Bearer <token>` */
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** publishes (WHIP) and starts/stops the recordings of the sessions it created: what you give OBS */
  PUBLISH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** reads: list, get, play, download, live events, status */
  VIEW_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** key of the signed media URLs (HMAC); every signaling instance behind one name must share it. Unset: random per process */
  MEDIA_URL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** how long a signed media URL stays valid */
  MEDIA_URL_TTL_SECONDS: env.int(900, 10, 24 * 3600),
  /** without a token, Host names (besides loopback ones) requests may carry; comma-separated, a port is ignored */
  ALLOWED_HOSTS: z.string().default(''),
  /** without API_TOKEN signaling binds loopback only, unless this explicitly allows it (e.g. behind an auth proxy) */
  ALLOW_REMOTE_WITHOUT_TOKEN: env.bool(false),
  /**
   * reverse proxies in front that append to X-Forwarded-For: the client address is the entry this many from
   * the right (0: the socket's peer; X-Forwarded-* are then ignored)
   */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).optional(),
  /** deprecated: `true` means TRUST_PROXY_HOPS=1 */
  TRUST_PROXY: env.bool(false),
  NATS_REQUEST_TIMEOUT_SECONDS: env.seconds(10),
  /** media may try several recorders before it answers a start (RECORDER_START_ATTEMPTS × RECORDER_START_TIMEOUT_SECONDS there) */
  RECORDING_START_WAIT_SECONDS: env.seconds(75),
  /** a stop waits for the recorder to finalize and check the file; longer than media's own RECORDING_STOP_TIMEOUT_SECONDS (45) */
  RECORDING_STOP_WAIT_SECONDS: env.seconds(60),
  MAX_SDP_BYTES: env.int(MAX_SDP_BYTES, 256, MAX_SDP_BYTES),
  MAX_JSON_BODY_BYTES: env.int(16 * 1024, 256, 1024 * 1024),
  /** mutating requests (POST, DELETE) per client address and minute; 0 turns the limit off */
  RATE_LIMIT_PER_MINUTE: env.int(600, 0),
  /** authenticated WebSocket clients */
  MAX_WS_CLIENTS: env.int(500, 1),
  /** WebSockets that have not sent their token yet, overall and per client address: their own budget */
  MAX_WS_UNAUTHENTICATED: env.int(64, 1),
  MAX_WS_UNAUTHENTICATED_PER_CLIENT: env.int(4, 1),
  /** a WebSocket that has not authenticated this long after connecting is closed */
  WS_AUTH_TIMEOUT_SECONDS: env.seconds(3),
  /** WebSocket upgrades per client address and minute; 0 turns the limit off */
  WS_UPGRADES_PER_MINUTE: env.int(120, 0),
  /** publisher (WHIP) sessions one client (its token, or its address without tokens) may hold at once */
  MAX_SESSIONS_PER_CLIENT: env.int(10, 1),
  WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_MAX_ATTEMPTS: env.int(8, 1, 100),
  WEBHOOK_RETRY_BASE_MS: env.int(1000, 1),
  WEBHOOK_RETRY_MAX_MS: env.int(5 * 60_000, 1),
  WEBHOOK_TIMEOUT_SECONDS: env.seconds(10),
  PUBLIC_DIR: env.string(DEFAULT_PUBLIC_DIR),
});

/**
 * Every variable signaling reads, with its default and validation: `@recstack/signaling/config` exports it, and
 * deploy/tools checks the manifests against it.
 */
export const envSchema = schema;

export interface SignalingConfig {
  nats: NatsSettings;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  http: {
    /** the address actually bound: loopback when no API token protects the service */
    host: string;
    requestedHost: string;
    port: number;
    /** true when HTTP_HOST asked for a non-loopback address that was narrowed for lack of a token */
    narrowedToLoopback: boolean;
    /** trusted reverse-proxy hops (TRUST_PROXY_HOPS) */
    proxyHops: number;
    /** lower-case host names accepted besides loopback when no token is set */
    allowedHosts: string[];
  };
  recordingsDir: string;
  storage: StorageKind;
  kvReplicas: number;
  publicDir: string;
  tokens: { admin: string | undefined; publish: string | undefined; view: string | undefined };
  mediaUrls: { secret: string | undefined; ttlMs: number };
  timeouts: { requestMs: number; startMs: number; stopMs: number };
  limits: {
    sdpBytes: number;
    jsonBodyBytes: number;
    ratePerMinute: number;
    wsClients: number;
    wsUnauthenticated: number;
    wsUnauthenticatedPerClient: number;
    wsAuthTimeoutMs: number;
    wsUpgradesPerMinute: number;
    sessionsPerClient: number;
  };
  webhook:
    | {
        url: string;
        secret: string | undefined;
        maxAttempts: number;
        retryBaseMs: number;
        retryMaxMs: number;
        timeoutMs: number;
      }
    | undefined;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Variables whose values must not appear in an error message (logs are read by more people than secrets). */
const SECRETS = ['API_TOKEN', 'PUBLISH_TOKEN', 'VIEW_TOKEN', 'MEDIA_URL_SECRET', 'WEBHOOK_SECRET', 'NATS_PASSWORD', 'NATS_TOKEN'];

function loadWithoutEchoingSecrets(source: Record<string, string | undefined>): z.infer<typeof schema> {
  try {
    return loadEnv(schema, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.problems.map((p) => (SECRETS.some((name) => p.startsWith(`${name}:`)) ? p.replace(/ \(got .*\)$/, '') : p)));
  }
}

/** Reads and validates the environment; the only place signaling looks at process.env. */
export function loadConfig(source: Record<string, string | undefined> = process.env): SignalingConfig {
  const values = loadWithoutEchoingSecrets(source);
  const requestedHost = values.HTTP_HOST;
  const tokens = { admin: values.API_TOKEN, publish: values.PUBLISH_TOKEN, view: values.VIEW_TOKEN };
  const problems = [...tokenProblems(tokens), ...proxyProblems(values)];
  if (problems.length > 0) throw new ConfigError(problems);
  const anyToken = Object.values(tokens).some((t) => t !== undefined);
  const open = !anyToken && !values.ALLOW_REMOTE_WITHOUT_TOKEN;
  const narrowed = open && !isLoopbackHost(requestedHost);
  return {
    nats: natsSettings(values, 'signaling'),
    logLevel: values.LOG_LEVEL,
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    http: {
      host: narrowed ? '127.0.0.1' : requestedHost,
      requestedHost,
      port: values.HTTP_PORT,
      narrowedToLoopback: narrowed,
      proxyHops: values.TRUST_PROXY_HOPS ?? (values.TRUST_PROXY ? 1 : 0),
      allowedHosts: values.ALLOWED_HOSTS.split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== ''),
    },
    recordingsDir: resolve(values.RECORDINGS_DIR),
    storage: values.STORAGE,
    kvReplicas: values.NATS_KV_REPLICAS,
    publicDir: resolve(values.PUBLIC_DIR),
    tokens,
    mediaUrls: { secret: values.MEDIA_URL_SECRET, ttlMs: values.MEDIA_URL_TTL_SECONDS * 1000 },
    timeouts: {
      requestMs: Math.round(values.NATS_REQUEST_TIMEOUT_SECONDS * 1000),
      startMs: Math.round(values.RECORDING_START_WAIT_SECONDS * 1000),
      stopMs: Math.round(values.RECORDING_STOP_WAIT_SECONDS * 1000),
    },
    limits: {
      sdpBytes: values.MAX_SDP_BYTES,
      jsonBodyBytes: values.MAX_JSON_BODY_BYTES,
      ratePerMinute: values.RATE_LIMIT_PER_MINUTE,
      wsClients: values.MAX_WS_CLIENTS,
      wsUnauthenticated: values.MAX_WS_UNAUTHENTICATED,
      wsUnauthenticatedPerClient: values.MAX_WS_UNAUTHENTICATED_PER_CLIENT,
      wsAuthTimeoutMs: Math.round(values.WS_AUTH_TIMEOUT_SECONDS * 1000),
      wsUpgradesPerMinute: values.WS_UPGRADES_PER_MINUTE,
      sessionsPerClient: values.MAX_SESSIONS_PER_CLIENT,
    },
    webhook: values.WEBHOOK_URL
      ? {
          url: values.WEBHOOK_URL,
          secret: values.WEBHOOK_SECRET,
          maxAttempts: values.WEBHOOK_MAX_ATTEMPTS,
          retryBaseMs: values.WEBHOOK_RETRY_BASE_MS,
          retryMaxMs: values.WEBHOOK_RETRY_MAX_MS,
          timeoutMs: Math.round(values.WEBHOOK_TIMEOUT_SECONDS * 1000),
        }
      : undefined,
  };
}

/** Two roles with one token would make the weaker one the stronger: each token must be its own. */
function tokenProblems(tokens: Record<string, string | undefined>): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const [role, token] of Object.entries(tokens)) {
    if (token === undefined) continue;
    const other = seen.get(token);
    if (other) problems.push(`${role === 'admin' ? 'API_TOKEN' : `${role.toUpperCase()}_TOKEN`}: must differ from the ${other} token`);
    seen.set(token, role);
  }
  return problems;
}

function proxyProblems(values: { TRUST_PROXY: boolean; TRUST_PROXY_HOPS?: number | undefined }): string[] {
  if (values.TRUST_PROXY && values.TRUST_PROXY_HOPS !== undefined && values.TRUST_PROXY_HOPS !== 1)
    return ['TRUST_PROXY: conflicts with TRUST_PROXY_HOPS; set only TRUST_PROXY_HOPS'];
  return [];
}
