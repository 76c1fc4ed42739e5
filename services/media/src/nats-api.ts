import type { NatsConnection, Subscription } from 'nats';
import {
  CloseSessionReplySchema,
  CloseSessionRequestSchema,
  CreateSessionRequestSchema,
  MediaPingSchema,
  MediaPongSchema,
  QUEUE_GROUPS,
  RecordingReportSchema,
  StartRecordingRequestSchema,
  StopRecordingRequestSchema,
  subjects,
} from '@recstack/contracts';
import { serve, type Logger } from '@recstack/service-kit';
import type { MediaService } from './media-service.js';

export interface MediaApi {
  /** stops answering session.create, so other instances take new publishers */
  stopTakingSessions(): void;
  /** unsubscribes from everything */
  close(): void;
}

/**
 * The media service's NATS subjects. Every message is validated (a malformed one gets a BAD_REQUEST
 * reply), every reply is validated before it leaves, and a failing handler never ends a subscription.
 */
export function serveMediaApi(nc: NatsConnection, mediaId: string, service: MediaService, logger: Logger): MediaApi {
  const log = logger.child({ component: 'nats-api' });
  // the queue group takes offers from whoever does not choose; the instance's own subject those placed on it
  const createSession = [
    serve(nc, {
      subject: subjects.media.createSession,
      queue: QUEUE_GROUPS.media,
      request: CreateSessionRequestSchema,
      handler: (req) => service.createSession(req),
      logger: log,
    }),
    serve(nc, {
      subject: subjects.media.createSessionOn(mediaId),
      request: CreateSessionRequestSchema,
      handler: (req) => service.createSession(req),
      logger: log,
    }),
  ];
  const perInstance: Subscription[] = [
    serve(nc, {
      subject: subjects.media.closeSession(mediaId),
      request: CloseSessionRequestSchema,
      handler: async (req) => CloseSessionReplySchema.parse(await service.closeSession(req.sessionId, 'requested')),
      logger: log,
    }),
    serve(nc, {
      subject: subjects.media.startRecording(mediaId),
      request: StartRecordingRequestSchema,
      handler: (req) => service.startRecording(req),
      logger: log,
    }),
    serve(nc, {
      subject: subjects.media.stopRecording(mediaId),
      request: StopRecordingRequestSchema,
      handler: async (req) => RecordingReportSchema.parse(await service.stopRecording(req)),
      logger: log,
    }),
    serve(nc, {
      subject: subjects.media.ping,
      request: MediaPingSchema,
      handler: async () => MediaPongSchema.parse(service.pong()),
      logger: log,
    }),
  ];
  return {
    stopTakingSessions: () => {
      for (const sub of createSession) if (!sub.isClosed()) sub.unsubscribe();
    },
    close: () => {
      for (const sub of [...createSession, ...perInstance]) if (!sub.isClosed()) sub.unsubscribe();
    },
  };
}
