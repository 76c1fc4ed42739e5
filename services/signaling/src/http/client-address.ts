import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';

/**
 * The client's address. Each trusted proxy appends the address it received the request from to
 * X-Forwarded-For, so with `hops` proxies in front the client is the entry `hops` from the right; entries
 * left of it were written by the client and prove nothing. With 0 hops the socket's peer is the client.
 */
export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined, hops: number): string {
  const peer = remoteAddress ?? '';
  if (hops === 0 || forwardedFor === undefined) return peer;
  // several X-Forwarded-For headers are one list in order (RFC 9110 §5.3)
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  // fewer entries than proxies: the request did not come through all of them; the peer is all we know
  return entries.length >= hops ? (entries[entries.length - hops] ?? peer) : peer;
}

export function clientAddressOf(req: IncomingMessage, hops: number): string {
  return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], hops);
}

/** Sets `ctx.ip` for everything after it (rate limits, fair shares, logs). */
export function clientAddressMiddleware(hops: number): Middleware {
  return async (ctx, next) => {
    ctx.request.ip = clientAddressOf(ctx.req, hops);
    await next();
  };
}
