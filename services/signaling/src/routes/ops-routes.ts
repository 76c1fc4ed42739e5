import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { SignalingMetrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

export interface OpsRoutesDeps {
  readiness: () => Promise<Readiness>;
  metrics: SignalingMetrics;
  openapi: () => object;
  isShuttingDown: () => boolean;
  /** `access(policy, { open: true })`: these stay open to everyone */
  open: Middleware;
  /** readers: the status with the backends' capacity */
  view: Middleware;
}

/** Health, readiness, metrics and the API document: open to everyone, no token needed. */
export function opsRoutes(router: Router, deps: OpsRoutesDeps): void {
  router.get('/healthz', deps.open, (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', deps.open, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const result = deps.isShuttingDown() ? undefined : await deps.readiness();
    ctx.status = result?.ready ? 200 : 503;
    ctx.body = {
      status: result?.ready ? 'ready' : 'not-ready',
      checks: result?.checks ?? { nats: false, media: 0, recorders: 0 },
      ...(result ? { backends: result.backends } : {}),
    };
  });

  router.get('/api/status', deps.view, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const result = await deps.readiness();
    ctx.body = {
      ready: result.ready && !deps.isShuttingDown(),
      nats: result.checks.nats,
      ...result.backends,
      canPublish: result.backends.media.instances > 0 && result.backends.media.sessions < result.backends.media.capacity,
      canRecord: result.backends.recorders.instances > 0 && result.backends.recorders.active < result.backends.recorders.capacity,
    };
  });

  router.get('/metrics', deps.open, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  router.get('/openapi.json', deps.open, (ctx) => {
    ctx.body = deps.openapi();
  });
}
