import { ServiceError } from '@recstack/service-kit';

/** A requested RTP or RTCP port is bound by someone else: media quarantines it and retries with others. */
export class PortInUseError extends ServiceError {
  constructor(
    readonly ports: readonly number[],
    options?: { cause?: unknown },
  ) {
    super('PORT_IN_USE', `UDP port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} cannot be bound`, options);
  }
}

/**
 * No room for the recording here (MAX_RECORDINGS running, its cost does not fit, or the CPU is past
 * RECORDER_MAX_CPU): another recorder instance may take the work.
 */
export class AtCapacityError extends ServiceError {
  constructor(
    message: string,
    readonly limit: 'count' | 'cost' | 'cpu' = 'count',
  ) {
    super('AT_CAPACITY', message);
  }
}

export class UnsupportedCodecError extends ServiceError {
  constructor(message: string) {
    super('UNSUPPORTED_CODEC', message);
  }
}

export class UnsupportedFormatError extends ServiceError {
  constructor(message: string) {
    super('UNSUPPORTED_FORMAT', message);
  }
}

export class NoSuchRecordingError extends ServiceError {
  constructor(recordingId: string) {
    super('NO_SUCH_RECORDING', `this recorder has no recording ${recordingId}`);
  }
}

/** The same recording id is already running here with a different request. */
export class RecordingConflictError extends ServiceError {
  constructor(recordingId: string) {
    super('CONFLICT', `recording ${recordingId} is already running on this recorder with other tracks`);
  }
}

/** The recording child could not start or died before it was listening; details stay in `cause`. */
export class RecorderFailedError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECORDER_FAILED', message, options);
  }
}

/** The finished file is missing or unreadable. */
export class FileInvalidError extends ServiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FILE_INVALID', message, options);
  }
}
