import { IdSchema } from '@recstack/contracts';
import { NoSuchRecordingError, NoSuchSessionError } from '../errors.js';

/** A path id that cannot be valid names nothing that exists: 404, like any unknown id. */
export function sessionIdParam(value: string | undefined): string {
  if (!IdSchema.safeParse(value).success) throw new NoSuchSessionError();
  return value as string;
}

export function recordingIdParam(value: string | undefined): string {
  if (!IdSchema.safeParse(value).success) throw new NoSuchRecordingError();
  return value as string;
}
