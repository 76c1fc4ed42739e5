import { ServiceError } from '@recstack/service-kit';

/**
 * The failures signaling's own logic reports. They carry a code from the contract and a message, never an
 * HTTP status: the edge (http/http-error.ts) decides how each is answered.
 */

export class NoSuchSessionError extends ServiceError {
  constructor() {
    super('NO_SUCH_SESSION', 'no such session');
  }
}

export class NoSuchRecordingError extends ServiceError {
  constructor() {
    super('NO_SUCH_RECORDING', 'no such recording');
  }
}

export class AlreadyRecordingError extends ServiceError {
  constructor(readonly recordingId: string | undefined) {
    super('ALREADY_RECORDING', 'the session is already being recorded; stop that recording first');
  }
}

export class UnsupportedFormatError extends ServiceError {
  constructor(message: string) {
    super('UNSUPPORTED_FORMAT', message);
  }
}

export class UnsupportedCodecError extends ServiceError {
  constructor(kind: 'video' | 'audio', codec: string | undefined) {
    super('UNSUPPORTED_CODEC', `the session's ${kind} codec ${codec} cannot be recorded`);
  }
}

/** The recording's catalog entry vanished between the recorder's start and the reply. */
export class RecordingDeletedError extends ServiceError {
  constructor() {
    super('CONFLICT', 'the recording was deleted while it started');
  }
}

/** The offer is not one a publisher session can be made of (sdp-check). */
export class InvalidOfferError extends ServiceError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

export class TooManySessionsError extends ServiceError {
  constructor(readonly limit: number) {
    super('TOO_MANY_SESSIONS', `this client already holds ${limit} publisher sessions; end one first (DELETE its WHIP resource)`);
  }
}

export class ForbiddenError extends ServiceError {
  constructor() {
    super('FORBIDDEN', 'this token may only control the sessions it created');
  }
}

/** Media's reply names another session than the one asked for. */
export class ForeignSessionReplyError extends ServiceError {
  constructor() {
    super('INTERNAL', 'the media service answered for another session');
  }
}

/** A catalog entry's file name that would lead outside the recordings folder: refused, never opened. */
export class UnsafeFileNameError extends ServiceError {
  constructor(message: 'the recording has an invalid file name' | 'the recording file is outside the recordings folder', options: { cause: unknown }) {
    super('INTERNAL', message, options);
  }
}
