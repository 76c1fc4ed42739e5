import type Router from '@koa/router';
import type { SignalingMetrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

export interface OpsRoutesDeps {
  readiness: () => Promise<Readiness>;
  metrics: SignalingMetrics;
  openapi: () => object;
  isShuttingDown: () => boolean;
}

/** Health, readiness, metrics and the API document: open to everyone, no token needed. */
export function opsRoutes(router: Router, deps: OpsRoutesDeps): void {
  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const result = deps.isShuttingDown() ? { ready: false, checks: { nats: false, media: 0, recorders: 0 } } : await deps.readiness();
    ctx.status = result.ready ? 200 : 503;
    ctx.body = { status: result.ready ? 'ready' : 'not-ready', checks: result.checks };
  });

  router.get('/metrics', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  router.get('/openapi.json', (ctx) => {
    ctx.body = deps.openapi();
  });
}
