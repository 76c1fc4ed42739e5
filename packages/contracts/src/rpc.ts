import type { z } from 'zod';
import type { ErrorCode } from './error-codes.js';
import {
  CloseSessionReplySchema,
  CloseSessionRequestSchema,
  CreateSessionReplySchema,
  CreateSessionRequestSchema,
  MediaPingSchema,
  MediaPongSchema,
  StartRecordingReplySchema,
  StartRecordingRequestSchema,
  StopRecordingRequestSchema,
} from './messages/media.js';
import {
  RecorderListeningSchema,
  RecorderPingSchema,
  RecorderPongSchema,
  RecorderStartRequestSchema,
  RecorderStopRequestSchema,
  RecordingReportSchema,
} from './messages/recorder.js';
import { QUEUE_GROUPS, subjects } from './subjects.js';

/**
 * Every NATS request/reply interaction, described once: where it goes, what is sent and what comes back.
 * service-kit's `serve(nc, descriptor, handler, opts)` answers one, `call(nc, descriptor, payload, opts)`
 * asks one and `gather(nc, descriptor, payload, maxWaitMs)` asks every instance; neither side names a
 * subject or a schema of its own.
 */

/** The service that answers: names it in errors, and says which code "nobody answers" is. */
export type RpcService = 'media' | 'recorder';

interface RpcCommon<Req extends z.ZodType, Rep extends z.ZodType> {
  /** short stable name for logs and metrics (`media.recording.start`); the same for a queue subject and its per-instance twin */
  readonly name: string;
  readonly service: RpcService;
  /** the code of the UnavailableError a caller gets when nobody is subscribed */
  readonly unavailable: ErrorCode;
  readonly request: Req;
  /** the `result` of an `{ ok: true, result }` reply (see replySchema) */
  readonly reply: Rep;
}

/** A request on one fixed subject, answered by any instance (queue group) or by every one (no queue). */
export interface SharedRpc<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> extends RpcCommon<Req, Rep> {
  readonly subject: string;
  /** the queue group of its servers: set when any one instance may take the work */
  readonly queue?: string;
}

/** A request to one instance: its subject carries that instance's id. */
export interface InstanceRpc<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> extends RpcCommon<Req, Rep> {
  readonly subject: (id: string) => string;
}

export type RpcDescriptor<Req extends z.ZodType = z.ZodType, Rep extends z.ZodType = z.ZodType> = SharedRpc<Req, Rep> | InstanceRpc<Req, Rep>;

/** What a caller sends (before the server's schema applies its defaults) and what a server receives. */
export type RpcRequest<D extends RpcDescriptor> = z.input<D['request']>;
export type RpcReceived<D extends RpcDescriptor> = z.output<D['request']>;
/** What a server answers and what a caller gets back. */
export type RpcAnswer<D extends RpcDescriptor> = z.input<D['reply']>;
export type RpcReply<D extends RpcDescriptor> = z.output<D['reply']>;

/** The target of a descriptor: an instance's id for an InstanceRpc, nothing for a SharedRpc. */
export type RpcTarget<D extends RpcDescriptor> = D extends InstanceRpc ? { id: string } : { id?: undefined };

/** The concrete subject of a descriptor (an InstanceRpc needs the instance's id). */
export function rpcSubject(descriptor: RpcDescriptor, id?: string): string {
  if (typeof descriptor.subject === 'string') {
    if (id !== undefined) throw new TypeError(`${descriptor.name} has one subject for every instance: no id`);
    return descriptor.subject;
  }
  if (id === undefined) throw new TypeError(`${descriptor.name} goes to one instance: its id is needed`);
  return descriptor.subject(id);
}

const UNAVAILABLE: Record<RpcService, ErrorCode> = { media: 'MEDIA_UNAVAILABLE', recorder: 'RECORDER_UNAVAILABLE' };

function shared<Req extends z.ZodType, Rep extends z.ZodType>(
  service: RpcService,
  name: string,
  subject: string,
  queue: string | undefined,
  request: Req,
  reply: Rep,
): SharedRpc<Req, Rep> {
  return { name, service, unavailable: UNAVAILABLE[service], subject, ...(queue !== undefined ? { queue } : {}), request, reply };
}

function instance<Req extends z.ZodType, Rep extends z.ZodType>(
  service: RpcService,
  name: string,
  subject: (id: string) => string,
  request: Req,
  reply: Rep,
): InstanceRpc<Req, Rep> {
  return { name, service, unavailable: UNAVAILABLE[service], subject, request, reply };
}

export const rpc = {
  media: {
    /** any media instance (queue group) creates a publisher session from an SDP offer */
    createSession: shared(
      'media',
      'media.session.create',
      subjects.media.createSession,
      QUEUE_GROUPS.media,
      CreateSessionRequestSchema,
      CreateSessionReplySchema,
    ),
    /** the same, to the one instance signaling's placement chose */
    createSessionOn: instance('media', 'media.session.create', subjects.media.createSessionOn, CreateSessionRequestSchema, CreateSessionReplySchema),
    closeSession: instance('media', 'media.session.close', subjects.media.closeSession, CloseSessionRequestSchema, CloseSessionReplySchema),
    startRecording: instance('media', 'media.recording.start', subjects.media.startRecording, StartRecordingRequestSchema, StartRecordingReplySchema),
    /** answered once the recorder has finalized the file: the reply is its report */
    stopRecording: instance('media', 'media.recording.stop', subjects.media.stopRecording, StopRecordingRequestSchema, RecordingReportSchema),
    /** every media instance answers (gather): load, readiness, discovery */
    ping: shared('media', 'media.ping', subjects.media.ping, undefined, MediaPingSchema, MediaPongSchema),
  },
  recorder: {
    /** any recorder (queue group) listens on the given ports and records; answered once it listens */
    start: shared('recorder', 'recorder.start', subjects.recorder.start, QUEUE_GROUPS.recorder, RecorderStartRequestSchema, RecorderListeningSchema),
    /** the same, to the least loaded recorder media knows of */
    startOn: instance('recorder', 'recorder.start', subjects.recorder.startOn, RecorderStartRequestSchema, RecorderListeningSchema),
    /** finalize a recording (or a handover's segment); the reply is the report */
    stop: instance('recorder', 'recorder.stop', subjects.recorder.stop, RecorderStopRequestSchema, RecordingReportSchema),
    /** every recorder answers (gather) */
    ping: shared('recorder', 'recorder.ping', subjects.recorder.ping, undefined, RecorderPingSchema, RecorderPongSchema),
    /** one recorder's liveness: no responders at once when it is gone */
    pingOne: instance('recorder', 'recorder.ping', subjects.recorder.pingOne, RecorderPingSchema, RecorderPongSchema),
  },
} as const;
