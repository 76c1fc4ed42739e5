import type { NatsConnection } from 'nats';
import { RecordingEventSchema, subjects, type RecordingEvent } from '@recstack/contracts';
import { publishEvent, subscribeEvents, type Logger } from '@recstack/service-kit';

/** A recording's event subject as a relay uses it: the recorder's events in, media's own `stopping` out. */
export interface RecordingEventChannel {
  /** Listens to one recording's events (invalid ones are logged and skipped); `ready` once the server knows of it. */
  listen(recordingId: string, onEvent: (event: RecordingEvent) => void, logger: Logger): { ready: Promise<void>; close(): void };
  /** Throws when the connection cannot take it (closed). */
  publish(recordingId: string, event: RecordingEvent): void;
}

export function natsRecordingEvents(nc: NatsConnection): RecordingEventChannel {
  return {
    listen: (recordingId, onEvent, logger) => {
      const sub = subscribeEvents(nc, subjects.events.recording(recordingId), RecordingEventSchema, onEvent, logger);
      return { ready: nc.flush(), close: () => sub.unsubscribe() };
    },
    publish: (recordingId, event) => publishEvent(nc, subjects.events.recording(recordingId), RecordingEventSchema, event),
  };
}
