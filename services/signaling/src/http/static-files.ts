import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Middleware } from 'koa';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  json: 'application/json',
};

/** Only flat names of known types: nothing in the URL can reach outside the folder. */
const FILE = /^\/([a-z0-9][a-z0-9-]*\.(html|js|css|svg|png|ico|json))$/;

/** The page needs nothing from elsewhere: scripts, styles and connections stay on this origin. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Serves the page's static files (GET and HEAD; `/` is index.html). Revalidated on each load (ETag),
 * so a new version of the page is picked up without a hard reload.
 */
export function staticFiles(dir: string): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      await next();
      return;
    }
    const match = FILE.exec(ctx.path === '/' ? '/index.html' : ctx.path);
    if (!match) {
      await next();
      return;
    }
    const [, name = '', ext = ''] = match;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) {
      await next();
      return;
    }
    const etag = `W/"${info.size.toString(16)}-${info.mtimeMs.toString(16)}"`;
    ctx.set('etag', etag);
    ctx.set('cache-control', 'no-cache');
    if (ext === 'html') ctx.set('content-security-policy', PAGE_CSP);
    ctx.type = TYPES[ext] ?? 'application/octet-stream';
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    ctx.length = info.size;
    if (ctx.method === 'HEAD') return;
    ctx.body = createReadStream(path);
  };
}
