import type { Middleware } from 'koa';
import { NotFoundError } from './http-error.js';

/**
 * Whether a request path is written the one way a route or file is named: no empty segments (`//`, a
 * trailing slash) and no dot segments, plain or percent-encoded. Such a path is refused, not resolved: a
 * proxy in front may resolve it differently, and an id of `.` or `..` means nothing here.
 */
export function isCanonicalPath(path: string): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/')) return false;
  return path
    .slice(1)
    .split('/')
    .every((segment) => segment !== '' && !/^(\.|%2e){1,2}$/i.test(segment));
}

export function canonicalPathMiddleware(): Middleware {
  return async (ctx, next) => {
    if (!isCanonicalPath(ctx.path)) throw new NotFoundError('NOT_FOUND', 'not found');
    await next();
  };
}
