import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import type Router from '@koa/router';
import type { NatsConnection } from 'nats';
import { RecordingCatalog } from '@recstack/catalog';
import type { Logger } from '@recstack/service-kit';
import { createApp } from './app.js';
import { MediaClient } from './backends/media-client.js';
import { MediaPlacement } from './backends/media-placement.js';
import { RecorderClient } from './backends/recorder-client.js';
import { SessionDirectory } from './backends/session-directory.js';
import type { SignalingConfig } from './config.js';
import { LiveEvents } from './events/live-events.js';
import { SessionEventSchema, subjects } from '@recstack/contracts';
import { subscribeEvents } from '@recstack/service-kit';
import { authEnabled, type AuthPolicy } from './http/auth.js';
import { clientAddressOf } from './http/client-address.js';
import { hostAllowed, requestHost } from './http/host-check.js';
import { RateLimiter } from './http/rate-limit.js';
import { MediaUrlSigner } from './recordings/media-urls.js';
import { ClientSessionQuota } from './whip/client-session-quota.js';
import { SessionOwners } from './whip/session-owners.js';
import { requestFromSameOrigin } from './http/origin-check.js';
import { SignalingMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { readinessCheck } from './readiness.js';
import { CatalogFeed, type FeedChange } from './recordings/catalog-feed.js';
import { RecordingControl } from './recordings/recording-control.js';
import { NatsObjectFiles } from './recordings/nats-object-files.js';
import { LocalFiles, RecordingFiles } from './recordings/recording-files.js';
import { WebhookOutbox } from './webhooks/webhook-outbox.js';
import { PublisherSessions } from './whip/publisher-sessions.js';

export const SERVICE_VERSION = '0.1.0';

/** how often signaling asks the media instances for their load (it counts its own placements in between) */
const MEDIA_LOAD_REFRESH_MS = 2000;
const MEDIA_LOAD_PING_WAIT_MS = 250;
/** instances asked for one WHIP session before answering AT_CAPACITY */
const MEDIA_PLACEMENT_ATTEMPTS = 3;

export interface Signaling {
  app: Koa;
  router: Router;
  server: Server;
  /** the bound address, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  catalog: RecordingCatalog;
  feed: CatalogFeed;
  metrics: SignalingMetrics;
  live: LiveEvents;
  /** stops taking work: new connections, mutating requests and WebSocket clients are refused */
  drain(): Promise<void>;
  /** drains, waits for requests in flight (up to the deadline), then releases everything; idempotent */
  close(deadlineMs?: number): Promise<void>;
}

/**
 * Builds signaling on a NATS connection and starts listening. The composition root shared by main.ts
 * and the integration tests (which run it in-process); it does not own the NATS connection.
 */
export async function startSignaling(config: SignalingConfig, nc: NatsConnection, logger: Logger): Promise<Signaling> {
  const catalog = await RecordingCatalog.open(nc, logger, { replicas: config.kvReplicas });
  const feed = await CatalogFeed.start(catalog, logger);
  // the gauges read the WebSocket hub, which is created later and counts its messages on these metrics
  let live: LiveEvents | undefined;
  const metrics = new SignalingMetrics(
    () => feed.countByStatus(),
    () => live?.clientCount ?? 0,
  );
  feed.on('change', (change) => observeRecordingEnds(change, metrics));

  const timeouts = config.timeouts;
  const media = new MediaClient(nc, timeouts, metrics.observeBackend);
  const recorders = new RecorderClient(nc, timeouts, metrics.observeBackend);
  const sessions = new SessionDirectory(nc, logger);
  const objectFiles = new NatsObjectFiles(nc, logger.child({ component: 'object-files' }), { create: config.storage === 'nats', replicas: config.kvReplicas });
  // STORAGE=nats: the bucket exists from the start (and a cluster's replica count is checked now, not at the first download)
  if (config.storage === 'nats') await objectFiles.open();
  const files = new RecordingFiles(new LocalFiles(config.recordingsDir), objectFiles);
  const control = new RecordingControl({ catalog, feed, sessions, media, recorders, files, metrics, logger, stopWaitMs: timeouts.stopMs });
  const placement = new MediaPlacement(media, logger.child({ component: 'media-placement' }), {
    refreshMs: MEDIA_LOAD_REFRESH_MS,
    pingWaitMs: MEDIA_LOAD_PING_WAIT_MS,
    maxAttempts: MEDIA_PLACEMENT_ATTEMPTS,
  });
  placement.start();
  const publishers = new PublisherSessions({ media, placement, sessions, control, metrics, logger });
  const webhooks = config.webhook ? await WebhookOutbox.start(nc, config.webhook, logger.child({ component: 'webhook' }), metrics) : undefined;

  let shuttingDown = false;
  const auth: AuthPolicy = { tokens: config.tokens };
  const signer = new MediaUrlSigner(config.mediaUrls.secret, config.mediaUrls.ttlMs);
  const owners = await SessionOwners.open(nc, { replicas: config.kvReplicas });
  const quota = new ClientSessionQuota(config.limits.sessionsPerClient, async (id) => (await sessions.get(id)) !== undefined);
  // a session media ended (publisher left, ICE timeout, shutdown) gives its client's place back
  const sessionEnds = subscribeEvents(
    nc,
    subjects.events.allSessions,
    SessionEventSchema,
    (event) => {
      if (event.type === 'closed') quota.release(event.sessionId);
    },
    logger,
  );
  const document = buildOpenApiDocument({ version: SERVICE_VERSION, authRequired: authEnabled(auth) });
  const { app, router } = createApp({
    logger,
    metrics,
    catalog,
    sessions,
    publishers,
    control,
    files,
    readiness: readinessCheck(nc, media, recorders),
    openapi: () => document,
    publicDir: config.publicDir,
    auth,
    signer,
    owners,
    quota,
    proxyHops: config.http.proxyHops,
    allowedHosts: config.http.allowedHosts,
    limits: config.limits,
    isShuttingDown: () => shuttingDown,
  });

  live = new LiveEvents({
    feed,
    nc,
    logger: logger.child({ component: 'live-events' }),
    metrics,
    auth,
    signer,
    maxClients: config.limits.wsClients,
    maxUnauthenticated: config.limits.wsUnauthenticated,
    maxUnauthenticatedPerClient: config.limits.wsUnauthenticatedPerClient,
    authTimeoutMs: config.limits.wsAuthTimeoutMs,
    clientAddress: (req) => clientAddressOf(req, config.http.proxyHops),
    ...(config.limits.wsUpgradesPerMinute > 0 ? { upgradeLimiter: new RateLimiter(config.limits.wsUpgradesPerMinute) } : {}),
    ...(authEnabled(auth)
      ? {}
      : {
          originAllowed: requestFromSameOrigin(config.http.proxyHops),
          hostAllowed: (req) => hostAllowed(requestHost(req, config.http.proxyHops), config.http.allowedHosts),
        }),
  });
  const liveEvents = live;

  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- Koa's handler settles every request itself (its onerror answers 500); the promise never rejects
  const server = createServer(app.callback());
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    // the path exactly as sent: a URL parser would resolve dot segments (/x/../ws) and hide other spellings
    const path = (req.url ?? '').split('?', 1)[0];
    if (path === '/ws') liveEvents.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  server.on('clientError', (err, socket) => {
    logger.debug({ err }, 'bad http request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let draining: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const drain = () => {
    draining ??= (async () => {
      shuttingDown = true;
      server.close();
      server.closeIdleConnections();
      await liveEvents.close();
    })();
    return draining;
  };
  const close = (deadlineMs = config.shutdownTimeoutMs) => {
    closing ??= (async () => {
      await drain();
      // requests in flight (a stop waits for the recorder) get until the deadline to finish
      const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadlineMs - 1000));
      timer.unref();
      const idle = setInterval(() => server.closeIdleConnections(), 200);
      await closed;
      clearTimeout(timer);
      clearInterval(idle);
      await webhooks?.close();
      placement.close();
      sessionEnds.unsubscribe();
      feed.close();
    })();
    return closing;
  };

  return { app, router, server, url: `http://${host}:${address.port}`, port: address.port, catalog, feed, metrics, live: liveEvents, drain, close };
}

/** Counts endings and start latency once per recording, when the catalog shows the change happen. */
function observeRecordingEnds(change: FeedChange, metrics: SignalingMetrics): void {
  if (change.type !== 'put' || !change.previous) return;
  const { recording, previous } = change;
  if (recording.status !== previous.status && (recording.status === 'done' || recording.status === 'failed'))
    metrics.recordingsEnded.inc({ status: recording.status });
  if (previous.firstKeyframeMs === null && recording.firstKeyframeMs !== null) metrics.firstKeyframe.observe(recording.firstKeyframeMs / 1000);
}
