import { z } from 'zod';

/**
 * Every failure that crosses a process boundary carries one of these codes, so a caller can act on it
 * without parsing messages.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
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
  'INSUFFICIENT_STORAGE',
  'RATE_LIMITED',
  'MEDIA_UNAVAILABLE',
  'RECORDER_UNAVAILABLE',
  'RECORDER_FAILED',
  'FILE_INVALID',
  'TIMEOUT',
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
