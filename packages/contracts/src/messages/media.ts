import { z } from 'zod';
import { IdSchema } from '../ids.js';
import { ContainerSchema, MediaKindSchema, OutputAudioCodecSchema } from '../media-formats.js';
import { StopReasonSchema } from '../recording.js';

/** Upper bound of an SDP offer we accept: real offers are a few kB. */
export const MAX_SDP_BYTES = 64 * 1024;

export const PublishedTrackSchema = z.object({
  kind: MediaKindSchema,
  /** lower-case codec name as negotiated (h264, vp8, vp9, av1, opus) */
  codec: z.string().min(1),
});
export type PublishedTrack = z.infer<typeof PublishedTrackSchema>;

export const CreateSessionRequestSchema = z.object({
  sessionId: IdSchema,
  offer: z.string().min(1).max(MAX_SDP_BYTES),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;

export const CreateSessionReplySchema = z.object({
  sessionId: IdSchema,
  mediaId: IdSchema,
  answer: z.string().min(1),
  tracks: z.array(PublishedTrackSchema),
});
export type CreateSessionReply = z.infer<typeof CreateSessionReplySchema>;

export const CloseSessionRequestSchema = z.object({ sessionId: IdSchema });
export type CloseSessionRequest = z.infer<typeof CloseSessionRequestSchema>;
export const CloseSessionReplySchema = z.object({ sessionId: IdSchema, closed: z.boolean() });
export type CloseSessionReply = z.infer<typeof CloseSessionReplySchema>;

export const StartRecordingRequestSchema = z.object({
  sessionId: IdSchema,
  recordingId: IdSchema,
  container: ContainerSchema.optional(),
  audioCodec: OutputAudioCodecSchema.optional(),
});
export type StartRecordingRequest = z.infer<typeof StartRecordingRequestSchema>;

export const StartRecordingReplySchema = z.object({
  recordingId: IdSchema,
  recorderId: IdSchema,
  container: ContainerSchema,
  audioCodec: OutputAudioCodecSchema.nullable(),
  fileName: z.string().min(1),
  tracks: z.array(PublishedTrackSchema.extend({ port: z.number().int() })),
});
export type StartRecordingReply = z.infer<typeof StartRecordingReplySchema>;

export const StopRecordingRequestSchema = z.object({
  sessionId: IdSchema,
  recordingId: IdSchema,
  reason: StopReasonSchema,
});
export type StopRecordingRequest = z.infer<typeof StopRecordingRequestSchema>;

export const MediaPingSchema = z.object({}).strict();
export const MediaPongSchema = z.object({
  mediaId: IdSchema,
  sessions: z.number().int().nonnegative(),
  recordings: z.number().int().nonnegative(),
  /** MAX_SESSIONS */
  capacity: z.number().int().nonnegative(),
  /**
   * share of its capacity in use, 0..1 (above 1 when over): the largest of sessions, packets/s and CPU
   * against their limits. Signaling places a new publisher on the instance with the lowest. Optional (as
   * are the fields below): older instances do not send it, and are then compared by sessions / capacity.
   */
  load: z.number().nonnegative().optional(),
  /** RTP packets per second received from publishers, measured */
  packetsPerSecond: z.number().nonnegative().optional(),
  /** MEDIA_MAX_PPS (0: no limit) */
  maxPacketsPerSecond: z.number().int().nonnegative().optional(),
  /** CPU busy, percent of the machine or of the cgroup's CPU limit */
  cpuPercent: z.number().nonnegative().optional(),
  /** MEDIA_MAX_CPU (0: no limit) */
  maxCpuPercent: z.number().nonnegative().optional(),
  /** Medooze endpoints (UDP sockets) publishers are spread over */
  endpoints: z.number().int().nonnegative().optional(),
  /** false once the instance is shutting down: it takes no new sessions */
  accepting: z.boolean().optional(),
  /** datagrams the kernel dropped at those sockets since they were opened (receive buffer full) */
  udpDrops: z.number().int().nonnegative().optional(),
});
export type MediaPong = z.infer<typeof MediaPongSchema>;

/** A publisher session as kept in the `sessions_v1` bucket by the media instance that holds it. */
export const PublisherSessionSchema = z.object({
  sessionId: IdSchema,
  mediaId: IdSchema,
  tracks: z.array(PublishedTrackSchema),
  createdAt: z.iso.datetime({ offset: true }),
});
export type PublisherSession = z.infer<typeof PublisherSessionSchema>;
