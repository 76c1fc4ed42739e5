import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { HttpError } from './http-error.js';

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
export function requestFromSameOrigin(trustProxy: boolean): (req: IncomingMessage) => boolean {
  return (req) => {
    const forwarded = trustProxy ? req.headers['x-forwarded-host'] : undefined;
    const host = (typeof forwarded === 'string' ? forwarded.split(',')[0]?.trim() : undefined) || req.headers.host;
    return sameOrigin(req.headers.origin, host);
  };
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function originCheckMiddleware(): Middleware {
  return async (ctx, next) => {
    // ctx.host follows X-Forwarded-Host when the app trusts its proxy
    if (!SAFE.has(ctx.method) && !sameOrigin(ctx.get('origin') || undefined, ctx.host || undefined)) {
      throw new HttpError(403, 'UNAUTHORIZED', 'cross-origin requests are not allowed');
    }
    await next();
  };
}
