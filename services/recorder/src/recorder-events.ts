import type { NatsConnection } from 'nats';
import {
  RecorderDrainingSchema,
  RecorderLostSchema,
  RecordingEventSchema,
  RecordingVerifiedEventSchema,
  subjects,
  type RecorderDraining,
  type RecorderLost,
  type RecordingEvent,
  type RecordingVerifiedEvent,
} from '@recstack/contracts';
import { publishEvent, type Logger } from '@recstack/service-kit';

/** What the recorder announces; a publish that fails is logged, never thrown (the recording goes on). */
export interface RecorderEvents {
  recording(event: RecordingEvent): void;
  verified(event: RecordingVerifiedEvent): void;
  /** `recorder.v1.draining`: false when it could not be published */
  draining(announcement: RecorderDraining): boolean;
  /** `recorder.v1.lost`: false when it could not be published */
  lost(announcement: RecorderLost): boolean;
  /** resolves once what was published reached the server (or could not) */
  flush(): Promise<void>;
}

export function natsRecorderEvents(nc: NatsConnection, logger: Logger): RecorderEvents {
  return {
    recording(event) {
      try {
        publishEvent(nc, subjects.events.recording(event.recordingId), RecordingEventSchema, event);
      } catch (err) {
        logger.warn({ err, recordingId: event.recordingId, type: event.type }, 'event not published');
      }
    },
    verified(event) {
      try {
        publishEvent(nc, subjects.events.recordingVerified(event.recordingId), RecordingVerifiedEventSchema, event);
      } catch (err) {
        logger.warn({ err, recordingId: event.recordingId }, 'verified event not published');
      }
    },
    draining(announcement) {
      try {
        publishEvent(nc, subjects.recorder.draining, RecorderDrainingSchema, announcement);
        return true;
      } catch (err) {
        logger.warn({ err }, 'drain announcement not published');
        return false;
      }
    },
    lost(announcement) {
      try {
        publishEvent(nc, subjects.recorder.lost, RecorderLostSchema, announcement);
        return true;
      } catch (err) {
        logger.warn({ err }, 'lost recordings not announced');
        return false;
      }
    },
    flush: () => nc.flush().catch(() => undefined),
  };
}
