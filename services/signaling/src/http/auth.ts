import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { UnauthorizedError } from './http-error.js';

/** Compares in constant time; hashing first makes the lengths equal so even they are not revealed. */
export function tokenMatches(candidate: string | undefined, expected: string): boolean {
  if (candidate === undefined) return false;
  const a = createHash('sha256').update(candidate).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  return match?.[1];
}

export interface AuthPolicy {
  /** undefined: no authentication (signaling then listens on loopback only) */
  token: string | undefined;
}

/** Paths that need the token. The page, its assets, health, metrics and the API document stay open. */
export function requiresAuth(path: string): boolean {
  return path === '/whip' || path.startsWith('/whip/') || path === '/api' || path.startsWith('/api/') || path === '/ws';
}

/**
 * Where a browser cannot set a header (a <video src>, a download link, a WebSocket) the token may come
 * as the `access_token` query parameter (RFC 6750 §2.3). Only reads take it: a link must not be able to
 * change anything.
 */
export function acceptsQueryToken(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return path === '/ws' || /^\/api\/recordings\/[^/]+\/media$/.test(path);
}

/** Decides whether a request may proceed; pure so it can be tested without a server. */
export function isAuthorized(policy: AuthPolicy, request: { method: string; path: string; authorization?: string | undefined; queryToken?: string | undefined }): boolean {
  if (policy.token === undefined || !requiresAuth(request.path)) return true;
  const header = bearerToken(request.authorization);
  if (header !== undefined) return tokenMatches(header, policy.token);
  if (request.queryToken !== undefined && acceptsQueryToken(request.method, request.path)) return tokenMatches(request.queryToken, policy.token);
  return false;
}

export function authMiddleware(policy: AuthPolicy): Middleware {
  return async (ctx, next) => {
    const query = ctx.query.access_token;
    const allowed = isAuthorized(policy, {
      method: ctx.method,
      path: ctx.path,
      authorization: ctx.get('authorization') || undefined,
      queryToken: typeof query === 'string' ? query : undefined,
    });
    if (!allowed) throw new UnauthorizedError();
    await next();
  };
}
