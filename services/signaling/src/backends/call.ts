import type { NatsConnection } from 'nats';
import type { z } from 'zod';
import type { ErrorCode } from '@recstack/contracts';
import { BadRequestError, RemoteError, ServiceError, UnavailableError, request } from '@recstack/service-kit';
import { InvalidReplyError } from '../errors.js';

export interface CallOptions {
  /** for messages and metrics: which service is asked */
  service: 'media' | 'recorder';
  timeoutMs: number;
  unavailable: ErrorCode;
  /** observes each call's outcome (for metrics) */
  observe?: (subjectKind: string, outcome: string, seconds: number) => void;
  subjectKind: string;
}

/**
 * One validated request to another service. Adds to service-kit's `request` the distinction between a
 * remote error reply (kept, with its code) and a reply that does not match the contract (a fault of the
 * other side, never the client's: InvalidReplyError).
 */
export async function call<S extends z.ZodType>(nc: NatsConnection, subject: string, payload: unknown, result: S, options: CallOptions): Promise<z.infer<S>> {
  const started = performance.now();
  let outcome = 'ok';
  try {
    return await request(nc, subject, payload, result, { timeoutMs: options.timeoutMs, unavailable: options.unavailable });
  } catch (err) {
    if (err instanceof BadRequestError && !(err instanceof RemoteError)) {
      outcome = 'invalid-reply';
      throw new InvalidReplyError(options.service, { cause: err });
    }
    if (err instanceof ServiceError) {
      outcome = err instanceof RemoteError ? `remote-${err.code}` : err.code;
      throw err;
    }
    // the NATS connection itself failed (closed, draining): to the caller the service is unreachable
    outcome = 'connection';
    throw new UnavailableError(options.unavailable, `cannot reach the ${options.service} service`, { cause: err });
  } finally {
    options.observe?.(options.subjectKind, outcome, (performance.now() - started) / 1000);
  }
}
