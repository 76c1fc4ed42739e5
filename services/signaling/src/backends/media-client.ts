import type { NatsConnection } from 'nats';
import {
  rpc,
  type CloseSessionReply,
  type CreateSessionReply,
  type MediaPong,
  type RecordingReport,
  type StartRecordingReply,
  type StartRecordingRequest,
  type StopRecordingRequest,
} from '@recstack/contracts';
import { gather, type CallObserver } from '@recstack/service-kit';
import { callBackend } from './call.js';

export interface BackendTimeouts {
  requestMs: number;
  startMs: number;
  stopMs: number;
}

export type { CallObserver };

/** Signaling's side of the media service's NATS contract (`rpc.media` in contracts). */
export class MediaClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeouts: BackendTimeouts,
    private readonly observe?: CallObserver,
  ) {}

  /** Any media instance (queue group) answers the offer and keeps the session. */
  createSession(sessionId: string, offer: string): Promise<CreateSessionReply> {
    return callBackend(this.nc, rpc.media.createSession, { sessionId, offer }, this.options(this.timeouts.requestMs));
  }

  /** The same request to one instance (placement chose it); MEDIA_UNAVAILABLE when it does not answer there. */
  createSessionOn(mediaId: string, sessionId: string, offer: string): Promise<CreateSessionReply> {
    return callBackend(this.nc, rpc.media.createSessionOn, { sessionId, offer }, { id: mediaId, ...this.options(this.timeouts.requestMs) });
  }

  closeSession(mediaId: string, sessionId: string): Promise<CloseSessionReply> {
    return callBackend(this.nc, rpc.media.closeSession, { sessionId }, { id: mediaId, ...this.options(this.timeouts.requestMs) });
  }

  startRecording(mediaId: string, req: StartRecordingRequest): Promise<StartRecordingReply> {
    return callBackend(this.nc, rpc.media.startRecording, req, { id: mediaId, ...this.options(this.timeouts.startMs) });
  }

  /** Resolves once the recorder has finalized the file: the reply is its report. */
  stopRecording(mediaId: string, req: StopRecordingRequest): Promise<RecordingReport> {
    return callBackend(this.nc, rpc.media.stopRecording, req, { id: mediaId, ...this.options(this.timeouts.stopMs) });
  }

  /** Every media instance that answers within `maxWaitMs`. */
  ping(maxWaitMs: number): Promise<MediaPong[]> {
    return gather(this.nc, rpc.media.ping, {}, maxWaitMs);
  }

  private options(timeoutMs: number): { timeoutMs: number; observe?: CallObserver } {
    return { timeoutMs, ...(this.observe ? { observe: this.observe } : {}) };
  }
}
