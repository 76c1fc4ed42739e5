import type { ErrorBody, ErrorCode } from '@recstack/contracts';

/**
 * Base of every failure a service reports. `message` must be safe to show to a client: put details that
 * are not (paths, stack traces, child output) in `cause`, which is logged but never sent.
 */
export class ServiceError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export class BadRequestError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_REQUEST', message, options);
  }
}

export class TimeoutError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TIMEOUT', message, options);
  }
}

export class ShuttingDownError extends ServiceError {
  constructor() {
    super('SHUTTING_DOWN', 'the service is shutting down and takes no new work');
  }
}

/** An error reply received from another service over NATS: keeps the remote code so callers can act on it. */
export class RemoteError extends ServiceError {
  readonly subject: string;

  constructor(body: ErrorBody, subject: string) {
    super(body.code, body.message);
    this.subject = subject;
  }
}

/**
 * Another service answered with something that does not match the contract (not JSON, or not the reply's
 * schema): its fault, never the asker's, so not a BadRequestError. `subject` and the parse problem (in
 * `cause`) are for the log; the message names only the service.
 */
export class InvalidReplyError extends ServiceError {
  readonly subject: string;

  constructor(service: string, subject: string, options?: { cause?: unknown }) {
    super('INVALID_REPLY', `the ${service} service sent an invalid reply`, options);
    this.subject = subject;
  }
}

/** Nobody subscribes to the subject: the service that should answer is not running. */
export class UnavailableError extends ServiceError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The client-safe body for any thrown value; unknown errors never leak their message. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ServiceError) return err.toBody();
  return { code: 'INTERNAL', message: 'internal error' };
}

export function errorCodeOf(err: unknown): ErrorCode | undefined {
  return err instanceof ServiceError ? err.code : undefined;
}
