import type { z } from 'zod';
import { ErrorCode as NatsErrorCode, RequestStrategy, type Msg, type NatsConnection, type Subscription } from 'nats';
import { replySchema, type ErrorCode, type Reply } from '@recstack/contracts';
import { BadRequestError, RemoteError, TimeoutError, UnavailableError, toErrorBody } from './errors.js';
import type { Logger } from './logger.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Parses and validates a message payload; anything malformed becomes a BadRequestError naming the problem. */
export function decodeMessage<S extends z.ZodType>(schema: S, data: Uint8Array): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (cause) {
    throw new BadRequestError('message is not valid JSON', { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    throw new BadRequestError(`invalid message: ${where}${first?.message ?? 'does not match the schema'}`, { cause: parsed.error });
  }
  return parsed.data;
}

export interface ServeOptions<S extends z.ZodType, R> {
  subject: string;
  /** queue group: set it when any one instance may take the work */
  queue?: string;
  request: S;
  handler: (request: z.infer<S>, msg: Msg) => Promise<R>;
  logger: Logger;
}

/**
 * Answers requests on a subject. Every request gets exactly one reply: the result, or a typed error.
 * A malformed message or a throwing handler never takes the subscription down.
 */
export function serve<S extends z.ZodType, R>(nc: NatsConnection, options: ServeOptions<S, R>): Subscription {
  const { subject, queue, request, handler, logger } = options;
  return nc.subscribe(subject, {
    ...(queue ? { queue } : {}),
    callback: (err, msg) => {
      if (err) {
        logger.error({ err, subject }, 'subscription error');
        return;
      }
      void handleRequest(msg, request, handler, logger);
    },
  });
}

async function handleRequest<S extends z.ZodType, R>(
  msg: Msg,
  schema: S,
  handler: (request: z.infer<S>, msg: Msg) => Promise<R>,
  logger: Logger,
): Promise<void> {
  let reply: Reply<R>;
  try {
    const req = decodeMessage(schema, msg.data);
    reply = { ok: true, result: await handler(req, msg) };
  } catch (err) {
    const body = toErrorBody(err);
    if (body.code === 'INTERNAL') logger.error({ err, subject: msg.subject }, 'request failed');
    else logger.warn({ code: body.code, reason: body.message, subject: msg.subject }, 'request rejected');
    reply = { ok: false, error: body };
  }
  if (!msg.reply) return;
  try {
    msg.respond(encodeJson(reply));
  } catch (err) {
    logger.warn({ err, subject: msg.subject }, 'reply not sent');
  }
}

export interface RequestOptions {
  timeoutMs: number;
  /** the code to report when nobody is subscribed (e.g. MEDIA_UNAVAILABLE) */
  unavailable: ErrorCode;
}

/**
 * Sends a request and returns the validated result. Throws RemoteError with the remote code on an error
 * reply, UnavailableError when nobody listens, TimeoutError when nobody answers in time.
 */
export async function request<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  payload: unknown,
  result: S,
  options: RequestOptions,
): Promise<z.infer<S>> {
  let msg: Msg;
  try {
    msg = await nc.request(subject, encodeJson(payload), { timeout: options.timeoutMs });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === NatsErrorCode.NoResponders) throw new UnavailableError(options.unavailable, `no service answers on ${subject}`, { cause: err });
    if (code === NatsErrorCode.Timeout) throw new TimeoutError(`no reply on ${subject} within ${options.timeoutMs} ms`, { cause: err });
    throw err;
  }
  const reply = decodeMessage(replySchema(result), msg.data) as Reply<z.infer<S>>;
  if (!reply.ok) throw new RemoteError(reply.error, subject);
  return reply.result;
}

/** Asks every instance listening on a subject and collects the valid answers that arrive within maxWaitMs. */
export async function gather<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  payload: unknown,
  result: S,
  maxWaitMs: number,
): Promise<Array<z.infer<S>>> {
  const answers: Array<z.infer<S>> = [];
  try {
    const replies = await nc.requestMany(subject, encodeJson(payload), { strategy: RequestStrategy.Timer, maxWait: maxWaitMs });
    for await (const msg of replies) {
      try {
        const reply = decodeMessage(replySchema(result), msg.data) as Reply<z.infer<S>>;
        if (reply.ok) answers.push(reply.result);
      } catch {
        // an instance answering garbage is not counted as alive
      }
    }
  } catch (err) {
    if ((err as { code?: string }).code !== NatsErrorCode.NoResponders) throw err;
  }
  return answers;
}

/** Publishes an event after validating it against its schema, so a bug cannot put a bad event on the wire. */
export function publishEvent<S extends z.ZodType>(nc: NatsConnection, subject: string, schema: S, event: z.infer<S>): void {
  nc.publish(subject, encodeJson(schema.parse(event)));
}

/** Subscribes to events; invalid ones are logged and skipped. */
export function subscribeEvents<S extends z.ZodType>(
  nc: NatsConnection,
  subject: string,
  schema: S,
  onEvent: (event: z.infer<S>, subject: string) => void | Promise<void>,
  logger: Logger,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        logger.error({ err, subject }, 'subscription error');
        return;
      }
      let event: z.infer<S>;
      try {
        event = decodeMessage(schema, msg.data);
      } catch (cause) {
        logger.warn({ err: cause, subject: msg.subject }, 'invalid event ignored');
        return;
      }
      Promise.resolve(onEvent(event, msg.subject)).catch((cause: unknown) => logger.error({ err: cause, subject: msg.subject }, 'event handler failed'));
    },
  });
}
