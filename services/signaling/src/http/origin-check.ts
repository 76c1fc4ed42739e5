import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { HttpError } from './http-error.js';
import { requestHost } from './host-check.js';

/**
 * Whether a browser request comes from this server's own page. Without a token, anything a browser
 * can reach on loopback could otherwise be driven by another site the user visits (a cross-site POST
 * needs no CORS preflight). Requests without Origin (curl, OBS, server-side clients) are not from a page.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** For the WebSocket upgrade, which Koa does not see; behind a trusted proxy its X-Forwarded-Host counts. */
export function requestFromSameOrigin(proxyHops: number): (req: IncomingMessage) => boolean {
  return (req) => sameOrigin(req.headers.origin, requestHost(req, proxyHops));
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function originCheckMiddleware(proxyHops: number): Middleware {
  return async (ctx, next) => {
    if (!SAFE.has(ctx.method) && !sameOrigin(ctx.get('origin') || undefined, requestHost(ctx.req, proxyHops))) {
      throw new HttpError(403, 'UNAUTHORIZED', 'cross-origin requests are not allowed');
    }
    await next();
  };
}
