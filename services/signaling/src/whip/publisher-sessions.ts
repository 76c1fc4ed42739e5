import type { CreateSessionReply } from '@recstack/contracts';
import { ServiceError, newId, type Logger } from '@recstack/service-kit';
import type { MediaClient } from '../backends/media-client.js';
import type { MediaPlacement } from '../backends/media-placement.js';
import type { SessionDirectory } from '../backends/session-directory.js';
import type { SignalingMetrics } from '../metrics.js';
import { ForeignSessionReplyError, InvalidOfferError, NoSuchSessionError } from '../errors.js';
import type { RecordingControl } from '../recordings/recording-control.js';
import { checkSdpOffer } from './sdp-check.js';

export interface PublisherSessionsDeps {
  media: MediaClient;
  /** chooses the media instance; without it the queue group does */
  placement?: MediaPlacement;
  sessions: SessionDirectory;
  control: RecordingControl;
  metrics: SignalingMetrics;
  logger: Logger;
}

/** WHIP sessions (RFC 9725): an offer becomes a media session; DELETE ends it and its recording. */
export class PublisherSessions {
  constructor(private readonly deps: PublisherSessionsDeps) {}

  async create(offer: string): Promise<CreateSessionReply> {
    const check = checkSdpOffer(offer);
    if (!check.ok) {
      this.deps.metrics.sessionsCreated.inc({ result: 'BAD_REQUEST' });
      throw new InvalidOfferError(check.message);
    }
    const sessionId = newId('ses');
    try {
      const reply = await (this.deps.placement ?? this.deps.media).createSession(sessionId, offer);
      if (reply.sessionId !== sessionId) throw new ForeignSessionReplyError();
      this.deps.metrics.sessionsCreated.inc({ result: 'ok' });
      this.deps.logger.info({ sessionId, mediaId: reply.mediaId, tracks: reply.tracks }, 'publisher session created');
      return reply;
    } catch (err) {
      this.deps.metrics.sessionsCreated.inc({ result: err instanceof ServiceError ? err.code : 'INTERNAL' });
      throw err;
    }
  }

  /** Ends the session; media finalizes its running recording. When media is gone, signaling finalizes it. */
  async close(sessionId: string): Promise<void> {
    const session = await this.deps.sessions.get(sessionId);
    if (!session) throw new NoSuchSessionError();
    const log = this.deps.logger.child({ sessionId, mediaId: session.mediaId });
    try {
      const reply = await this.deps.media.closeSession(session.mediaId, sessionId);
      // media no longer holds it (it ended between our read and the request)
      if (!reply.closed) throw new NoSuchSessionError();
      this.deps.metrics.sessionsClosed.inc({ result: 'ok' });
      log.info('publisher session closed');
    } catch (err) {
      if (err instanceof NoSuchSessionError || (err instanceof ServiceError && err.code === 'NO_SUCH_SESSION')) {
        this.deps.metrics.sessionsClosed.inc({ result: err.code });
        throw new NoSuchSessionError();
      }
      if (err instanceof ServiceError && err.code === 'MEDIA_UNAVAILABLE') {
        log.warn('media holding the session is gone, finalizing its recording directly');
        await this.deps.control.stopActiveOfSession(sessionId, 'publisher-left');
        this.deps.metrics.sessionsClosed.inc({ result: 'media-gone' });
        return;
      }
      this.deps.metrics.sessionsClosed.inc({ result: err instanceof ServiceError ? err.code : 'INTERNAL' });
      throw err;
    }
  }
}
