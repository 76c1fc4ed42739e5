import { z } from 'zod';
import { ErrorBodySchema } from '../error-codes.js';

/** Every NATS reply is either a result or a typed error; callers never have to guess which. */
export function replySchema<T extends z.ZodType>(result: T) {
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), result }), z.object({ ok: z.literal(false), error: ErrorBodySchema })]);
}
export type Reply<T> = { ok: true; result: T } | { ok: false; error: z.infer<typeof ErrorBodySchema> };
