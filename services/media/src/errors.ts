import type { ErrorBody } from '@recstack/contracts';
import { BadRequestError, ServiceError, UnavailableError } from '@recstack/service-kit';

/** The SDP offer cannot be parsed or lacks what WebRTC needs (ICE credentials, DTLS fingerprint, media). */
export class MalformedOfferError extends BadRequestError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`malformed SDP offer: ${message}`, options);
  }
}

/** The offer has no audio or video codec we can record. */
export class UnsupportedCodecError extends ServiceError {
  constructor(message: string) {
    super('UNSUPPORTED_CODEC', message);
  }
}

export class AtCapacityError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AT_CAPACITY', message, options);
  }
}

/** Every recorder asked refused the start for lack of free disk space (signaling answers 507). */
export class InsufficientStorageError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INSUFFICIENT_STORAGE', message, options);
  }
}

export class SessionExistsError extends ServiceError {
  constructor(sessionId: string) {
    super('CONFLICT', `session ${sessionId} already exists`);
  }
}

export class NoSuchSessionError extends ServiceError {
  constructor(sessionId: string) {
    super('NO_SUCH_SESSION', `no session ${sessionId} on this media instance`);
  }
}

export class NoSuchRecordingError extends ServiceError {
  constructor(recordingId: string) {
    super('NO_SUCH_RECORDING', `no recording ${recordingId} on this media instance`);
  }
}

export class AlreadyRecordingError extends ServiceError {
  constructor(sessionId: string, recordingId: string) {
    super('ALREADY_RECORDING', `session ${sessionId} is already being recorded (${recordingId})`);
  }
}

export class UnsupportedFormatError extends ServiceError {
  constructor(message: string) {
    super('UNSUPPORTED_FORMAT', message);
  }
}

export class NoFreePortsError extends ServiceError {
  constructor(wanted: number, range: { min: number; max: number }) {
    super('NO_FREE_PORTS', `no ${wanted} free recorder port pair(s) left in ${range.min}-${range.max}`);
  }
}

export class RecorderUnavailableError extends UnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECORDER_UNAVAILABLE', message, options);
  }
}

export class RecorderFailedError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECORDER_FAILED', message, options);
  }
}

/** The recording was ended (session closed, publisher left, shutdown) while it was still starting. */
export class RecordingCancelledError extends ServiceError {
  constructor(recordingId: string) {
    super('CONFLICT', `recording ${recordingId} was ended while it was starting`);
  }
}

/** The catalog entry ended (signaling gave up on the start) before the recording could begin. */
export class RecordingAbandonedError extends ServiceError {
  constructor(recordingId: string, status: string) {
    super('CONFLICT', `recording ${recordingId} is already ${status} in the catalog`);
  }
}

export class MediaEngineError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}

/** A recording ended without a report; carries the code it ended with (RECORDER_FAILED, TIMEOUT, ...). */
export class RecordingEndedError extends ServiceError {
  constructor(body: ErrorBody) {
    super(body.code, body.message);
  }
}
