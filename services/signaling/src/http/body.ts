import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import { HttpError, PayloadTooLargeError, UnsupportedMediaTypeError } from './http-error.js';

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length above the limit is refused
 * before reading; a body that grows past it while streaming is refused as soon as it does.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Bodies read by bodyLimitMiddleware before routing, for the handler that wants them. */
const readAhead = new WeakMap<IncomingMessage, Buffer>();

function hasBody(ctx: Context): boolean {
  return ctx.request.length > 0 || ctx.get('transfer-encoding') !== '';
}

/**
 * Every request to a path `limitFor` gives a limit is held to it before any route runs, whether its route
 * reads a body or not: a handler that ignores its body (a stop, a DELETE) would otherwise answer while
 * the client is still sending megabytes, and Node would read them all to keep the connection. Over the
 * limit (declared, or counted while streaming) it is 413 with the JSON error and `connection: close`;
 * within it the body is kept for the handler.
 */
export function bodyLimitMiddleware(limitFor: (path: string) => number | undefined): Middleware {
  return async (ctx, next) => {
    const limit = limitFor(ctx.path);
    if (limit !== undefined && hasBody(ctx)) readAhead.set(ctx.req, await readBody(ctx.req, limit));
    await next();
  };
}

/** The request's body: the one bodyLimitMiddleware read ahead, else read now; at most `limit` bytes either way. */
async function requestBody(ctx: Context, limit: number): Promise<Buffer> {
  const bytes = readAhead.get(ctx.req) ?? (await readBody(ctx.req, limit));
  if (bytes.length > limit) throw new PayloadTooLargeError(limit);
  return bytes;
}

/** A UTF-8 text body of the given media type (e.g. application/sdp). */
export async function readTextBody(ctx: Context, mediaType: string, limit: number): Promise<string> {
  if (!ctx.is(mediaType)) throw new UnsupportedMediaTypeError(mediaType);
  const bytes = await requestBody(ctx, limit);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new HttpError(400, 'BAD_REQUEST', 'the request body is not valid UTF-8', { cause });
  }
}

/**
 * An optional JSON body validated by a schema. No body at all is parsed as `{}`, so endpoints whose
 * fields are all optional accept an empty POST.
 */
export async function readJsonBody<S extends z.ZodType>(ctx: Context, schema: S, limit: number): Promise<z.infer<S>> {
  let json: unknown = {};
  if (hasBody(ctx)) {
    if (!ctx.is('application/json')) throw new UnsupportedMediaTypeError('application/json');
    const text = (await requestBody(ctx, limit)).toString('utf8');
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new HttpError(400, 'BAD_REQUEST', 'the request body is not valid JSON', { cause });
      }
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    throw new HttpError(400, 'BAD_REQUEST', `invalid request body: ${where}${first?.message ?? 'does not match the schema'}`, { cause: parsed.error });
  }
  return parsed.data;
}
