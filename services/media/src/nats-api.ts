import type { NatsConnection, Subscription } from 'nats';
import { CloseSessionReplySchema, MediaPongSchema, RecordingReportSchema, rpc } from '@recstack/contracts';
import { serve, type Logger } from '@recstack/service-kit';
import type { MediaService } from './media-service.js';

export interface MediaApi {
  /** stops answering session.create, so other instances take new publishers */
  stopTakingSessions(): void;
  /** unsubscribes from everything */
  close(): void;
}

/**
 * The media service's NATS requests (`rpc.media` in contracts). Every message is validated (a malformed one
 * gets a BAD_REQUEST reply), every reply is validated before it leaves (those parsed here leave without
 * fields the contract does not name), and a failing handler never ends a subscription.
 */
export function serveMediaApi(nc: NatsConnection, mediaId: string, service: MediaService, logger: Logger): MediaApi {
  const log = logger.child({ component: 'nats-api' });
  // the queue group takes offers from whoever does not choose; the instance's own subject those placed on it
  const createSession = [
    serve(nc, rpc.media.createSession, (req) => service.createSession(req), { logger: log }),
    serve(nc, rpc.media.createSessionOn, (req) => service.createSession(req), { id: mediaId, logger: log }),
  ];
  const perInstance: Subscription[] = [
    serve(nc, rpc.media.closeSession, async (req) => CloseSessionReplySchema.parse(await service.closeSession(req.sessionId, 'requested')), {
      id: mediaId,
      logger: log,
    }),
    serve(nc, rpc.media.startRecording, (req) => service.startRecording(req), { id: mediaId, logger: log }),
    serve(nc, rpc.media.stopRecording, async (req) => RecordingReportSchema.parse(await service.stopRecording(req)), { id: mediaId, logger: log }),
    serve(nc, rpc.media.ping, async () => MediaPongSchema.parse(service.pong()), { logger: log }),
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
