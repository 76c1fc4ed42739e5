// The contracts every service shares: the public surface, listed by the file that defines it.
// error-codes.ts
export { ERROR_CODES, type ErrorBody, ErrorBodySchema, type ErrorCode, ErrorCodeSchema } from './error-codes.js';
// ids.ts
export { IdSchema, IsoDateSchema } from './ids.js';
// subjects.ts
export { QUEUE_GROUPS, subjects, subjectToken } from './subjects.js';
// rpc.ts
export {
  type InstanceRpc,
  rpc,
  type RpcAnswer,
  type RpcDescriptor,
  type RpcReceived,
  type RpcReply,
  type RpcRequest,
  type RpcService,
  rpcSubject,
  type RpcTarget,
  type SharedRpc,
} from './rpc.js';
// buckets.ts
export { BUCKETS } from './buckets.js';
// jetstream.ts
export { CONSUMERS, STREAM_SUBJECTS, STREAMS, WEBHOOK_OUTBOX_API_SUBJECTS } from './jetstream.js';
// media-formats.ts
export {
  AUDIO_CODECS,
  type AudioCodec,
  AudioCodecSchema,
  type Container,
  CONTAINERS,
  ContainerSchema,
  containersFor,
  fileExtension,
  type FormatRequest,
  type FormatResolution,
  type MediaKind,
  MediaKindSchema,
  mimeType,
  OUTPUT_AUDIO_CODECS,
  type OutputAudioCodec,
  OutputAudioCodecSchema,
  type OutputFormat,
  resolveOutputFormat,
  VIDEO_CODECS,
  type VideoCodec,
  VideoCodecSchema,
} from './media-formats.js';
// recording.ts
export {
  canTransition,
  type DecodeScope,
  DecodeScopeSchema,
  EMPTY_RECORDING_STATS,
  type FileCheck,
  FileCheckSchema,
  type FileStats,
  FileStatsSchema,
  type Gap,
  GapSchema,
  type IngestStats,
  IngestStatsSchema,
  isTerminal,
  type RecordedTrack,
  RecordedTrackSchema,
  type Recording,
  RECORDING_STATUSES,
  RecordingSchema,
  type RecordingStats,
  RecordingStatsSchema,
  type RecordingStatus,
  RecordingStatusSchema,
  type ResolutionChange,
  ResolutionChangeSchema,
  type Segment,
  SegmentSchema,
  STOP_REASONS,
  type StopReason,
  StopReasonSchema,
  type StorageKind,
  StorageKindSchema,
} from './recording.js';
// recording-cost.ts
export { COST_UNITS_PER_CORE, recordingCost, type RecordingCostTable, RecordingCostTableSchema, type RecordingWork } from './recording-cost.js';
// messages/envelope.ts
export { type Reply, replySchema } from './messages/envelope.js';
// messages/recorder.ts
export {
  type Engine,
  ENGINES,
  EngineSchema,
  type RecorderDraining,
  type RecorderLost,
  RecorderDrainingSchema,
  RecorderLostSchema,
  type RecorderListening,
  RecorderListeningSchema,
  RecorderPingSchema,
  type RecorderPong,
  RecorderPongSchema,
  type RecorderStartRequest,
  RecorderStartRequestSchema,
  type RecorderStopRequest,
  RecorderStopRequestSchema,
  type RecordingReport,
  RecordingReportSchema,
  type ReportDecodeCheck,
  ReportDecodeCheckSchema,
  type RtpTrackSpec,
  RtpTrackSpecSchema,
} from './messages/recorder.js';
// messages/media.ts
export {
  type CloseSessionReply,
  CloseSessionReplySchema,
  type CloseSessionRequest,
  CloseSessionRequestSchema,
  type CreateSessionReply,
  CreateSessionReplySchema,
  type CreateSessionRequest,
  CreateSessionRequestSchema,
  MAX_SDP_BYTES,
  MediaPingSchema,
  type MediaPong,
  MediaPongSchema,
  type PublishedTrack,
  PublishedTrackSchema,
  type PublisherSession,
  PublisherSessionSchema,
  type StartRecordingReply,
  StartRecordingReplySchema,
  type StartRecordingRequest,
  StartRecordingRequestSchema,
  type StopRecordingRequest,
  StopRecordingRequestSchema,
} from './messages/media.js';
// messages/events.ts
export {
  type RecordingEvent,
  RecordingEventSchema,
  type RecordingVerifiedEvent,
  RecordingVerifiedEventSchema,
  type SessionEvent,
  SessionEventSchema,
} from './messages/events.js';
// nats-permissions.ts
export {
  NATS_SERVICES,
  natsAuthorizationConfig,
  natsInboxPrefix,
  type NatsPasswordSource,
  natsPasswordVariable,
  natsPermissions,
  type NatsPermissions,
  type NatsService,
  natsUser,
} from './nats-permissions.js';
