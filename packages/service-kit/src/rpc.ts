import type { z } from 'zod';
import { ErrorCode as NatsErrorCode, RequestStrategy, type Msg, type NatsConnection, type Subscription } from 'nats';
import {
  replySchema,
  rpcSubject,
  type Reply,
  type RpcAnswer,
  type RpcDescriptor,
  type RpcReceived,
  type RpcReply,
  type RpcRequest,
  type RpcTarget,
  type SharedRpc,
} from '@recstack/contracts';
import { BadRequestError, InvalidReplyError, RemoteError, ServiceError, TimeoutError, UnavailableError, toErrorBody } from './errors.js';
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

/** Observes each call's outcome (metrics): the descriptor's name, `ok` or what went wrong, and how long it took. */
export type CallObserver = (name: string, outcome: string, seconds: number) => void;

export type ServeOptions<D extends RpcDescriptor> = RpcTarget<D> & {
  logger: Logger;
};

/**
 * Answers a descriptor's requests (on its queue group when it has one; an InstanceRpc on `opts.id`'s own
 * subject). Every request gets exactly one reply: the handler's answer, or a typed error. A malformed
 * message or a throwing handler never takes the subscription down, and an answer that does not match the
 * reply schema is never sent (the asker gets INTERNAL, the log says why).
 */
export function serve<D extends RpcDescriptor>(
  nc: NatsConnection,
  descriptor: D,
  handler: (request: RpcReceived<D>, msg: Msg) => Promise<RpcAnswer<D>>,
  opts: ServeOptions<D>,
): Subscription {
  const { logger } = opts;
  const subject = rpcSubject(descriptor, (opts as { id?: string }).id);
  const queue = typeof descriptor.subject === 'string' ? (descriptor as SharedRpc).queue : undefined;
  return nc.subscribe(subject, {
    ...(queue ? { queue } : {}),
    callback: (err, msg) => {
      if (err) {
        logger.error({ err, subject }, 'subscription error');
        return;
      }
      void handleRequest(msg, descriptor, handler, logger);
    },
  });
}

/** The handler's answer broke the reply's contract: a bug here, reported as INTERNAL, detail in the log. */
class InvalidAnswerError extends Error {}

async function handleRequest<D extends RpcDescriptor>(
  msg: Msg,
  descriptor: D,
  handler: (request: RpcReceived<D>, msg: Msg) => Promise<RpcAnswer<D>>,
  logger: Logger,
): Promise<void> {
  let reply: Reply<RpcAnswer<D>>;
  try {
    const req = decodeMessage(descriptor.request, msg.data) as RpcReceived<D>;
    const answer = await handler(req, msg);
    const checked = descriptor.reply.safeParse(answer);
    if (!checked.success) throw new InvalidAnswerError(`${descriptor.name} answer does not match its schema`, { cause: checked.error });
    reply = { ok: true, result: answer };
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

export type CallOptions<D extends RpcDescriptor> = RpcTarget<D> & {
  timeoutMs: number;
  observe?: CallObserver;
};

/**
 * Asks a descriptor's service and returns its validated reply. Throws RemoteError with the remote code on
 * a typed error reply, InvalidReplyError on a reply that breaks the contract, UnavailableError (the
 * descriptor's `unavailable` code) when nobody listens, TimeoutError when nobody answers in time; anything
 * else (the connection closed) as NATS threw it.
 */
export async function call<D extends RpcDescriptor>(nc: NatsConnection, descriptor: D, payload: RpcRequest<D>, opts: CallOptions<D>): Promise<RpcReply<D>> {
  const started = performance.now();
  let outcome = 'ok';
  try {
    return await ask(nc, descriptor, rpcSubject(descriptor, (opts as { id?: string }).id), payload, opts.timeoutMs);
  } catch (err) {
    if (err instanceof RemoteError) outcome = `remote-${err.code}`;
    else if (err instanceof InvalidReplyError) outcome = 'invalid-reply';
    else if (err instanceof ServiceError) outcome = err.code;
    else outcome = 'connection';
    throw err;
  } finally {
    opts.observe?.(descriptor.name, outcome, (performance.now() - started) / 1000);
  }
}

async function ask<D extends RpcDescriptor>(
  nc: NatsConnection,
  descriptor: D,
  subject: string,
  payload: RpcRequest<D>,
  timeoutMs: number,
): Promise<RpcReply<D>> {
  let msg: Msg;
  try {
    msg = await nc.request(subject, encodeJson(payload), { timeout: timeoutMs });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === NatsErrorCode.NoResponders) throw new UnavailableError(descriptor.unavailable, `no service answers on ${subject}`, { cause: err });
    if (code === NatsErrorCode.Timeout) throw new TimeoutError(`no reply on ${subject} within ${timeoutMs} ms`, { cause: err });
    throw err;
  }
  let reply: Reply<RpcReply<D>>;
  try {
    reply = decodeMessage(replySchema(descriptor.reply), msg.data) as Reply<RpcReply<D>>;
  } catch (cause) {
    throw new InvalidReplyError(descriptor.service, subject, { cause });
  }
  if (!reply.ok) throw new RemoteError(reply.error, subject);
  return reply.result;
}

/** Asks every instance serving a shared descriptor and collects the valid answers that arrive within maxWaitMs. */
export async function gather<D extends SharedRpc>(nc: NatsConnection, descriptor: D, payload: RpcRequest<D>, maxWaitMs: number): Promise<Array<RpcReply<D>>> {
  const answers: Array<RpcReply<D>> = [];
  const schema = replySchema(descriptor.reply);
  try {
    const replies = await nc.requestMany(descriptor.subject, encodeJson(payload), { strategy: RequestStrategy.Timer, maxWait: maxWaitMs });
    for await (const msg of replies) {
      try {
        const reply = decodeMessage(schema, msg.data) as Reply<RpcReply<D>>;
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
