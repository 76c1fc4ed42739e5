import type { NatsConnection } from 'nats';
import {
  CloseSessionReplySchema,
  CreateSessionReplySchema,
  MediaPongSchema,
  RecordingReportSchema,
  StartRecordingReplySchema,
  subjects,
  type CloseSessionReply,
  type CreateSessionReply,
  type MediaPong,
  type RecordingReport,
  type StartRecordingReply,
  type StartRecordingRequest,
  type StopRecordingRequest,
} from '@recstack/contracts';
import { gather } from '@recstack/service-kit';
import { call, type CallOptions } from './call.js';

export interface BackendTimeouts {
  requestMs: number;
  startMs: number;
  stopMs: number;
}

export type CallObserver = NonNullable<CallOptions['observe']>;

/** Signaling's side of the media service's NATS contract. */
export class MediaClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeouts: BackendTimeouts,
    private readonly observe?: CallObserver,
  ) {}

  /** Any media instance (queue group) answers the offer and keeps the session. */
  createSession(sessionId: string, offer: string): Promise<CreateSessionReply> {
    return call(this.nc, subjects.media.createSession, { sessionId, offer }, CreateSessionReplySchema, this.options('session.create'));
  }

  /** The same request to one instance (placement chose it); MEDIA_UNAVAILABLE when it does not answer there. */
  createSessionOn(mediaId: string, sessionId: string, offer: string): Promise<CreateSessionReply> {
    return call(this.nc, subjects.media.createSessionOn(mediaId), { sessionId, offer }, CreateSessionReplySchema, this.options('session.create'));
  }

  closeSession(mediaId: string, sessionId: string): Promise<CloseSessionReply> {
    return call(this.nc, subjects.media.closeSession(mediaId), { sessionId }, CloseSessionReplySchema, this.options('session.close'));
  }

  startRecording(mediaId: string, req: StartRecordingRequest): Promise<StartRecordingReply> {
    return call(this.nc, subjects.media.startRecording(mediaId), req, StartRecordingReplySchema, this.options('recording.start', this.timeouts.startMs));
  }

  /** Resolves once the recorder has finalized the file: the reply is its report. */
  stopRecording(mediaId: string, req: StopRecordingRequest): Promise<RecordingReport> {
    return call(this.nc, subjects.media.stopRecording(mediaId), req, RecordingReportSchema, this.options('recording.stop', this.timeouts.stopMs));
  }

  /** Every media instance that answers within `maxWaitMs`. */
  ping(maxWaitMs: number): Promise<MediaPong[]> {
    return gather(this.nc, subjects.media.ping, {}, MediaPongSchema, maxWaitMs);
  }

  private options(subjectKind: string, timeoutMs = this.timeouts.requestMs): CallOptions {
    return { service: 'media', unavailable: 'MEDIA_UNAVAILABLE', timeoutMs, subjectKind: `media.${subjectKind}`, ...(this.observe ? { observe: this.observe } : {}) };
  }
}
