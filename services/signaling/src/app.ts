import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import type { RecordingCatalog } from '@recstack/catalog';
import type { Logger } from '@recstack/service-kit';
import type { SessionDirectory } from './backends/session-directory.js';
import { assertEveryRouteDeclaresAccess, authEnabled, type AuthPolicy } from './http/auth.js';
import { bodyLimitMiddleware } from './http/body.js';
import { clientAddressMiddleware } from './http/client-address.js';
import { hostCheckMiddleware } from './http/host-check.js';
import { HttpError, MethodNotAllowedError, NotFoundError, errorResponseBody, toHttpError } from './http/http-error.js';
import { canonicalPathMiddleware } from './http/canonical-path.js';
import { originCheckMiddleware } from './http/origin-check.js';
import { RateLimiter, rateLimitMiddleware } from './http/rate-limit.js';
import { staticFiles } from './http/static-files.js';
import type { SignalingMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';
import type { RecordingControl } from './recordings/recording-control.js';
import type { MediaUrlSigner } from './recordings/media-urls.js';
import type { RecordingFiles } from './recordings/recording-files.js';
import { eventsRoutes } from './routes/events-routes.js';
import { opsRoutes } from './routes/ops-routes.js';
import { recordingRoutes } from './routes/recording-routes.js';
import { routeGuards } from './routes/route-guards.js';
import { sessionRoutes } from './routes/session-routes.js';
import { whipRoutes } from './routes/whip-routes.js';
import type { ClientSessionQuota } from './whip/client-session-quota.js';
import type { PublisherSessions } from './whip/publisher-sessions.js';
import type { SessionOwners } from './whip/session-owners.js';

export interface AppDeps {
  logger: Logger;
  metrics: SignalingMetrics;
  catalog: RecordingCatalog;
  sessions: SessionDirectory;
  publishers: PublisherSessions;
  control: RecordingControl;
  files: RecordingFiles;
  readiness: () => Promise<Readiness>;
  openapi: () => object;
  publicDir: string;
  auth: AuthPolicy;
  signer: MediaUrlSigner;
  owners: SessionOwners;
  quota: ClientSessionQuota;
  /** trusted reverse-proxy hops in front (TRUST_PROXY_HOPS) */
  proxyHops: number;
  /** without a token: Host names answered besides loopback ones */
  allowedHosts: readonly string[];
  limits: { sdpBytes: number; jsonBodyBytes: number; ratePerMinute: number };
  isShuttingDown: () => boolean;
}

/**
 * The Koa application: the page, WHIP, the REST API and the ops endpoints. No listening socket: main.ts
 * (or a test) puts it behind an HTTP server, which also takes the WebSocket upgrades.
 */
export function createApp(deps: AppDeps): { app: Koa; router: Router } {
  // proxy: X-Forwarded-Proto/Host count only behind trusted proxies; the address is set by clientAddressMiddleware
  const app = new Koa({ proxy: deps.proxyHops > 0 });
  // a URL names a route in exactly one spelling: another case, a trailing slash or an encoded letter is 404
  const router = new Router({ sensitive: true, strict: true });
  const guards = routeGuards(deps.auth, (ctx) => {
    // a <video src> cannot send a header: the short-lived signed URL from the recording's mediaUrl stands in
    const { expires, sig } = ctx.query;
    const id = (ctx.params as Record<string, string | undefined>).id ?? '';
    return deps.signer.verify(id, typeof expires === 'string' ? expires : undefined, typeof sig === 'string' ? sig : undefined)
      ? { role: 'view', key: 'signed-url' }
      : undefined;
  });
  opsRoutes(router, {
    readiness: deps.readiness,
    metrics: deps.metrics,
    openapi: deps.openapi,
    isShuttingDown: deps.isShuttingDown,
    open: guards.open,
    view: guards.view,
  });
  eventsRoutes(router, guards.view);
  whipRoutes(router, { sessions: deps.publishers, maxSdpBytes: deps.limits.sdpBytes, guards, quota: deps.quota, owners: deps.owners });
  sessionRoutes(router, {
    sessions: deps.sessions,
    control: deps.control,
    maxJsonBytes: deps.limits.jsonBodyBytes,
    guards,
    signer: deps.signer,
    owners: deps.owners,
  });
  recordingRoutes(router, { catalog: deps.catalog, control: deps.control, files: deps.files, guards, signer: deps.signer, owners: deps.owners });
  assertEveryRouteDeclaresAccess(router);

  app.use(clientAddressMiddleware(deps.proxyHops));
  app.use(observe(deps.logger, deps.metrics));
  app.use(errors(deps.logger));
  app.use(securityHeaders());
  // without a token, a page elsewhere could reach us through a name it resolves to 127.0.0.1 (DNS rebinding)
  if (!authEnabled(deps.auth)) app.use(hostCheckMiddleware(deps.allowedHosts, deps.proxyHops));
  app.use(refuseWhenShuttingDown(deps.isShuttingDown));
  app.use(canonicalPathMiddleware());
  app.use(staticFiles(deps.publicDir));
  // with a token, a foreign page cannot act without knowing it; without one, only our own page may
  if (!authEnabled(deps.auth)) app.use(originCheckMiddleware(deps.proxyHops));
  if (deps.limits.ratePerMinute > 0) app.use(rateLimitMiddleware(new RateLimiter(deps.limits.ratePerMinute), () => deps.metrics.rateLimited.inc()));
  app.use(bodyLimitMiddleware((path) => bodyLimitFor(path, deps.limits)));
  app.use(router.routes());
  // sets 405/501 with an Allow header; `errors` gives those their JSON body
  app.use(router.allowedMethods());
  // errors are answered by `errors`; what is left (a client that went away mid-stream) is only logged
  app.on('error', (err: unknown) => deps.logger.debug({ err }, 'response stream error'));
  return { app, router };
}

/**
 * WHIP carries SDP, the API JSON: each path's body limit, or undefined where no body is ever taken. Any case
 * counts: another spelling is 404, but not before its oversized body is refused.
 */
function bodyLimitFor(path: string, limits: AppDeps['limits']): number | undefined {
  const lower = path.toLowerCase();
  if (lower === '/whip' || lower.startsWith('/whip/')) return limits.sdpBytes;
  if (lower.startsWith('/api/')) return limits.jsonBodyBytes;
  return undefined;
}

/** Outermost: logs each request once and counts it by route pattern (not by URL, to bound the labels). */
function observe(logger: Logger, metrics: SignalingMetrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = typeof ctx._matchedRoute === 'string' ? ctx._matchedRoute : ctx.status === 404 ? 'unmatched' : 'static';
      const seconds = (performance.now() - started) / 1000;
      metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
      metrics.httpDuration.observe({ method: ctx.method, route }, seconds);
      logger.debug({ method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1000) }, 'request handled');
    }
  };
}

/** Turns every failure into `{ error: { code, message } }` with its status; causes stay in the log. */
function errors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body == null) {
        // nothing answered: no route, no file
        if (ctx.status === 404) throw new NotFoundError('NOT_FOUND', 'not found');
        if (ctx.status === 405) throw new MethodNotAllowedError(ctx.response.get('allow'));
        if (ctx.status === 501) throw new HttpError(501, 'BAD_REQUEST', 'method not implemented');
      }
    } catch (err) {
      const httpError = toHttpError(err);
      if (httpError.status >= 500) logger.error({ err: httpError.cause ?? err, code: httpError.code, method: ctx.method, path: ctx.path }, 'request failed');
      else logger.info({ code: httpError.code, reason: httpError.message, method: ctx.method, path: ctx.path }, 'request refused');
      // headers set for the success path (a media type, a disposition) do not describe an error
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      setSecurityHeaders(ctx);
      ctx.status = httpError.status;
      for (const [name, value] of Object.entries(httpError.headers)) ctx.set(name, value);
      ctx.set('cache-control', 'no-store');
      ctx.type = 'application/json';
      ctx.body = errorResponseBody(httpError);
    }
  };
}

function setSecurityHeaders(ctx: Context): void {
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('referrer-policy', 'no-referrer');
  ctx.set('x-frame-options', 'DENY');
}

function securityHeaders(): Middleware {
  return async (ctx, next) => {
    setSecurityHeaders(ctx);
    await next();
  };
}

function refuseWhenShuttingDown(isShuttingDown: () => boolean): Middleware {
  return async (ctx, next) => {
    if (isShuttingDown() && ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      throw new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down, try again shortly', { headers: { 'retry-after': '5', connection: 'close' } });
    }
    await next();
  };
}
