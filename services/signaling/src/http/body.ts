import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
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

/** A UTF-8 text body of the given media type (e.g. application/sdp). */
export async function readTextBody(ctx: Context, mediaType: string, limit: number): Promise<string> {
  if (!ctx.is(mediaType)) throw new UnsupportedMediaTypeError(mediaType);
  const bytes = await readBody(ctx.req, limit);
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
  const hasBody = ctx.request.length > 0 || ctx.get('transfer-encoding') !== '';
  let json: unknown = {};
  if (hasBody) {
    if (!ctx.is('application/json')) throw new UnsupportedMediaTypeError('application/json');
    const text = (await readBody(ctx.req, limit)).toString('utf8');
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
