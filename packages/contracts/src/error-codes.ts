import { z } from 'zod';

/**
 * Every failure that crosses a process boundary carries one of these codes, so a caller can act on it
 * without parsing messages.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  /** authenticated, but this token may not act on that resource (another principal's session) */
  'FORBIDDEN',
  /** the request names a host this server does not answer for (DNS rebinding protection) */
  'MISDIRECTED_REQUEST',
  'NOT_FOUND',
  'NO_SUCH_SESSION',
  'NO_SUCH_RECORDING',
  'ALREADY_RECORDING',
  'CONFLICT',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_CODEC',
  'UNSUPPORTED_FORMAT',
  'NO_MEDIA',
  'PORT_IN_USE',
  'NO_FREE_PORTS',
  'AT_CAPACITY',
  'RATE_LIMITED',
  /** the client already holds MAX_SESSIONS_PER_CLIENT publisher sessions */
  'TOO_MANY_SESSIONS',
  /** no recorder has enough free disk space to record (RECORDER_MIN_FREE_BYTES) */
  'INSUFFICIENT_STORAGE',
  'MEDIA_UNAVAILABLE',
  'RECORDER_UNAVAILABLE',
  'RECORDER_FAILED',
  'FILE_INVALID',
  'TIMEOUT',
  /** another service answered with a reply that does not match its contract: that service's fault */
  'INVALID_REPLY',
  'SHUTTING_DOWN',
  'INTERNAL',
] as const;

export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const ErrorBodySchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;
