import type { ErrorBody, ErrorCode } from '@recstack/contracts';
import { InvalidReplyError, ServiceError } from '@recstack/service-kit';
import { ForeignSessionReplyError, TooManySessionsError, UnsafeFileNameError } from '../errors.js';

/** The HTTP status for each error code a client can receive. */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  MISDIRECTED_REQUEST: 421,
  NOT_FOUND: 404,
  NO_SUCH_SESSION: 404,
  NO_SUCH_RECORDING: 404,
  ALREADY_RECORDING: 409,
  CONFLICT: 409,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_CODEC: 422,
  UNSUPPORTED_FORMAT: 400,
  NO_MEDIA: 422,
  PORT_IN_USE: 503,
  NO_FREE_PORTS: 503,
  AT_CAPACITY: 503,
  INSUFFICIENT_STORAGE: 507,
  RATE_LIMITED: 429,
  TOO_MANY_SESSIONS: 429,
  MEDIA_UNAVAILABLE: 503,
  RECORDER_UNAVAILABLE: 503,
  RECORDER_FAILED: 502,
  FILE_INVALID: 502,
  TIMEOUT: 504,
  INVALID_REPLY: 502,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
};

/**
 * What a client is told when a server-side failure happens. Remote messages for these codes can name
 * subjects, hosts or child-process output, so they are replaced by a fixed text.
 */
const SERVER_SIDE_MESSAGE: Partial<Record<ErrorCode, string>> = {
  PORT_IN_USE: 'no recorder could take the recording right now, try again',
  NO_FREE_PORTS: 'the media server has no free ports for another recording, try again later',
  AT_CAPACITY: 'the service is at capacity, try again later',
  INSUFFICIENT_STORAGE: 'no recorder has enough free disk space for another recording',
  MEDIA_UNAVAILABLE: 'the media service is unavailable',
  RECORDER_UNAVAILABLE: 'no recorder is available',
  RECORDER_FAILED: 'the recorder failed',
  FILE_INVALID: 'the recorded file is not valid',
  TIMEOUT: 'a backend service did not answer in time',
  INVALID_REPLY: 'a backend service sent an invalid reply',
  SHUTTING_DOWN: 'the service is shutting down, try again shortly',
  INTERNAL: 'internal error',
};

/**
 * Retry-After (seconds) of each 503, by what has to change before a retry can succeed. A full stack
 * (AT_CAPACITY) or port range (NO_FREE_PORTS) frees room only as sessions and recordings end, and media
 * and signaling re-measure load every 2 s: a retry sooner than a few rounds meets the same refusal, and a
 * longer pause spreads the retries of many refused clients. A port taken by another process (PORT_IN_USE)
 * is a race media already retried; a missing service is being restarted.
 */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  AT_CAPACITY: 10,
  NO_FREE_PORTS: 10,
  PORT_IN_USE: 2,
  MEDIA_UNAVAILABLE: 5,
  RECORDER_UNAVAILABLE: 5,
  SHUTTING_DOWN: 5,
};

/** A failure answered over HTTP: a status, a code from the contract and a message safe to show a client. */
export class HttpError extends ServiceError {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, code: ErrorCode, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(code, message, options);
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}

export class NotFoundError extends HttpError {
  constructor(code: 'NOT_FOUND' | 'NO_SUCH_SESSION' | 'NO_SUCH_RECORDING', message: string) {
    super(404, code, message);
  }
}

export class UnauthorizedError extends HttpError {
  constructor() {
    // the same words for a missing and a wrong token: nothing to learn from the difference
    super(401, 'UNAUTHORIZED', 'authentication required', { headers: { 'www-authenticate': 'Bearer realm="recstack"' } });
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(expected: string) {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${expected}`);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limit: number) {
    // no `connection: close`: Node would destroy the socket as soon as the answer is written, while the
    // client is still sending; body.ts closes it after the answer, draining what still arrives
    super(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${limit} bytes`);
  }
}

export class RateLimitedError extends HttpError {
  constructor(retryAfterSeconds: number) {
    super(429, 'RATE_LIMITED', 'too many requests, slow down', { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

export class MethodNotAllowedError extends HttpError {
  constructor(allow: string) {
    super(405, 'BAD_REQUEST', 'method not allowed on this resource', { headers: { allow } });
  }
}

/**
 * Errors answered differently from their code's row in STATUS_BY_CODE: a status or headers of their own,
 * or (ownMessage) a server-side message in our own words, safe to show, kept instead of the fixed text.
 */
const ANSWER_BY_ERROR: ReadonlyArray<{
  error: abstract new (...args: never[]) => ServiceError;
  status?: number;
  headers?: Record<string, string>;
  ownMessage?: true;
}> = [
  // a place frees up only when one of the client's own sessions ends
  { error: TooManySessionsError, headers: { 'retry-after': '10' } },
  // the other service is at fault, not this one: a bad gateway
  { error: InvalidReplyError, status: 502, ownMessage: true },
  { error: ForeignSessionReplyError, status: 502, ownMessage: true },
  { error: UnsafeFileNameError, ownMessage: true },
];

/**
 * Maps anything thrown while handling a request to an HTTP error: the only place a status is chosen for
 * signaling's domain errors (errors.ts). ServiceErrors keep their code; their
 * message is kept for a client error (it explains what to fix) and replaced by a fixed text for a
 * server-side one (a remote message may name hosts, subjects or child output). Anything else is an
 * internal error whose details stay in the log. Only the edge (routes, app.ts, http/) throws HttpError itself.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ServiceError) {
    const own = ANSWER_BY_ERROR.find((answer) => err instanceof answer.error);
    const status = own?.status ?? STATUS_BY_CODE[err.code] ?? 500;
    const retry = status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS[err.code] ?? 5) } : undefined;
    const headers = { ...retry, ...own?.headers };
    const message = status >= 500 && !own?.ownMessage ? (SERVER_SIDE_MESSAGE[err.code] ?? 'internal error') : err.message;
    return new HttpError(status, err.code, message, { cause: err, ...(Object.keys(headers).length > 0 ? { headers } : {}) });
  }
  return new HttpError(500, 'INTERNAL', 'internal error', { cause: err });
}

export function errorResponseBody(err: HttpError): { error: ErrorBody } {
  return { error: { code: err.code, message: err.message } };
}
