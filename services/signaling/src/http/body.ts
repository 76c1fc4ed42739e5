import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import { HttpError, PayloadTooLargeError, UnsupportedMediaTypeError } from './http-error.js';

/** How long a client whose body was refused may go on sending it before its connection is cut. */
const REFUSED_BODY_LINGER_MS = 5000;

/**
 * The refusal of a body over `limit`. The answer goes out while the client may still be sending: closing
 * at once would make the kernel answer the data still arriving with a reset, which can destroy the answer
 * before the client reads it. So once the answer is written the connection is half-closed and what
 * arrives is read and dropped, for a few seconds at most (a lingering close).
 */
function tooLarge(ctx: Context, limit: number): PayloadTooLargeError {
  const { req, res } = ctx;
  res.once('finish', () => {
    if (req.complete) return;
    const socket = req.socket;
    req.resume();
    socket.end();
    const cut = setTimeout(() => socket.destroy(), REFUSED_BODY_LINGER_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
  });
  return new PayloadTooLargeError(limit);
}

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length above the limit is refused
 * before reading; a body that grows past it while streaming is refused as soon as it does. The request
 * is never destroyed (which would reset the connection before the answer): the rest is drained.
 */
function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const { req } = ctx;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(ctx, limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void) => {
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(() => reject(tooLarge(ctx, limit)));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(() => resolve(Buffer.concat(chunks, size)));
    const onClose = () => settle(() => reject(new HttpError(400, 'BAD_REQUEST', 'the request body ended before its end')));
    req.on('data', onData).once('end', onEnd).once('close', onClose);
  });
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
 * limit (declared, or counted while streaming) it is 413 with the JSON error, then a lingering close;
 * within it the body is kept for the handler.
 */
export function bodyLimitMiddleware(limitFor: (path: string) => number | undefined): Middleware {
  return async (ctx, next) => {
    const limit = limitFor(ctx.path);
    if (limit !== undefined && hasBody(ctx)) readAhead.set(ctx.req, await readBody(ctx, limit));
    await next();
  };
}

/** The request's body: the one bodyLimitMiddleware read ahead, else read now; at most `limit` bytes either way. */
async function requestBody(ctx: Context, limit: number): Promise<Buffer> {
  const bytes = readAhead.get(ctx.req) ?? (await readBody(ctx, limit));
  if (bytes.length > limit) throw tooLarge(ctx, limit);
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
