import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { HttpError } from './http-error.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The host name of a Host header value, lower-case, without its port; undefined when it cannot be one. */
export function hostName(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(value.trim());
  return match?.[1]?.toLowerCase();
}

/**
 * Whether a request may be answered without a token. A page on another site can make a browser send
 * requests to a name it resolves to 127.0.0.1 (DNS rebinding); such a request carries that other name in
 * Host, so only loopback names and those the operator listed are answered.
 */
export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  const name = hostName(hostHeader);
  return name !== undefined && (LOOPBACK_NAMES.has(name) || allowed.includes(name));
}

export class MisdirectedHostError extends HttpError {
  constructor() {
    super(421, 'MISDIRECTED_REQUEST', 'this server does not answer for that host name; use localhost or a name in ALLOWED_HOSTS');
  }
}

/** The Host a request names; behind trusted proxies the one they forwarded (the last X-Forwarded-Host). */
export function requestHost(req: IncomingMessage, proxyHops: number): string | undefined {
  const forwarded = proxyHops > 0 ? req.headers['x-forwarded-host'] : undefined;
  const last = typeof forwarded === 'string' ? forwarded.split(',').pop()?.trim() : undefined;
  return last || req.headers.host;
}

/** Probes of an orchestrator name the pod's address; these answer nothing a rebinding page could use. */
const PROBES = new Set(['/healthz', '/readyz']);

export function hostCheckMiddleware(allowed: readonly string[], proxyHops: number): Middleware {
  return async (ctx, next) => {
    if (!PROBES.has(ctx.path) && !hostAllowed(requestHost(ctx.req, proxyHops), allowed)) throw new MisdirectedHostError();
    await next();
  };
}
