import { z } from 'zod';
import { ErrorBodySchema } from './error-codes.js';
import { IdSchema, IsoDateSchema } from './ids.js';
import { ContainerSchema, MediaKindSchema, OutputAudioCodecSchema } from './media-formats.js';

export const RECORDING_STATUSES = ['starting', 'recording', 'stopping', 'done', 'failed'] as const;
export const RecordingStatusSchema = z.enum(RECORDING_STATUSES);
export type RecordingStatus = z.infer<typeof RecordingStatusSchema>;

/**
 * `max-duration`: the recorder ended a recording that reached its configured longest duration;
 * `disk-full`: free space in the recordings folder fell under the recorder's floor, so it finalized the file
 * while that still fitted; `max-size`: the file reached RECORDER_MAX_FILE_BYTES
 */
export const STOP_REASONS = ['requested', 'publisher-left', 'rtp-timeout', 'shutdown', 'deleted', 'error', 'max-duration', 'disk-full', 'max-size'] as const;
export const StopReasonSchema = z.enum(STOP_REASONS);
export type StopReason = z.infer<typeof StopReasonSchema>;

/** A track as written to (or found in) the file. */
export const RecordedTrackSchema = z.object({
  kind: MediaKindSchema,
  codec: z.string().min(1),
  /** video: the resolution most of the file has (by duration), not necessarily the first frame's */
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  sampleRate: z.number().int().positive().optional(),
  channels: z.number().int().positive().optional(),
});
export type RecordedTrack = z.infer<typeof RecordedTrackSchema>;

/**
 * How much of a finished file the recorder's decode check covered: `full` (every frame decoded), `partial`
 * (decoded until its time budget ran out, then every packet of the rest read without decoding), `none`.
 */
export const DecodeScopeSchema = z.enum(['full', 'partial', 'none']);
export type DecodeScope = z.infer<typeof DecodeScopeSchema>;

/** What the recorder found when it decoded the finished file, as a player would. */
export const FileCheckSchema = z.object({
  /** no decode error in the part that was decoded (false: some frames show damage, from packet loss for instance) */
  decodesCleanly: z.boolean(),
  scope: DecodeScopeSchema,
});
export type FileCheck = z.infer<typeof FileCheckSchema>;

/** The video resolution from `atMs` (milliseconds from the file's first video frame) on. */
export const ResolutionChangeSchema = z.object({
  atMs: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type ResolutionChange = z.infer<typeof ResolutionChangeSchema>;

/** What the media service saw arrive from the publisher while the recording ran (its video and audio tracks). */
export const IngestStatsSchema = z.object({
  /** RTP packets received, retransmissions included */
  packetsReceived: z.number().int().nonnegative(),
  /** packets missing from the sequence when the recording ended (Medooze's count, after retransmissions) */
  packetsLost: z.number().int().nonnegative(),
  /** packets that arrived as retransmissions (RTX), answering media's NACKs */
  packetsRetransmitted: z.number().int().nonnegative(),
  /** keyframe requests (PLI) media sent the publisher: at the start and after losses */
  keyframesRequested: z.number().int().nonnegative(),
});
export type IngestStats = z.infer<typeof IngestStatsSchema>;

/** What the recorder found in the file it wrote (its video track; audio-only files count audio frames). */
export const FileStatsSchema = z.object({
  framesWritten: z.number().int().nonnegative(),
  /** keyframes that reached the file */
  keyframesReceived: z.number().int().nonnegative(),
  /** the longest interval between two consecutive frames, in ms */
  longestGapMs: z.number().int().nonnegative(),
  /** the first entry is the starting resolution; empty for audio only */
  resolutionChanges: z.array(ResolutionChangeSchema).max(1000),
});
export type FileStats = z.infer<typeof FileStatsSchema>;

/**
 * What happened to a recording's media: each part written by the service that knows it, null until then
 * (media writes the ingest counts when the recording stops, the recorder the file's with its report).
 */
export const RecordingStatsSchema = z.object({
  packetsReceived: z.number().int().nonnegative().nullable(),
  packetsLost: z.number().int().nonnegative().nullable(),
  packetsRetransmitted: z.number().int().nonnegative().nullable(),
  keyframesRequested: z.number().int().nonnegative().nullable(),
  framesWritten: z.number().int().nonnegative().nullable(),
  keyframesReceived: z.number().int().nonnegative().nullable(),
  longestGapMs: z.number().int().nonnegative().nullable(),
  resolutionChanges: z.array(ResolutionChangeSchema).max(1000).nullable(),
});
export type RecordingStats = z.infer<typeof RecordingStatsSchema>;

export const EMPTY_RECORDING_STATS: RecordingStats = {
  packetsReceived: null,
  packetsLost: null,
  packetsRetransmitted: null,
  keyframesRequested: null,
  framesWritten: null,
  keyframesReceived: null,
  longestGapMs: null,
  resolutionChanges: null,
};

export const StorageKindSchema = z.enum(['local', 'nats']);
export type StorageKind = z.infer<typeof StorageKindSchema>;

/**
 * One stretch of a recording on one recorder. A recording moves to another recorder when its recorder
 * dies or drains (handover); each move closes a segment. `file` is the segment's own file in the recordings
 * folder, removed once the segments are joined into the recording's file. Times are wall-clock: `startedAt`
 * the segment's first keyframe, `endedAt` its last media (null while running, or until a dead recorder's
 * file is salvaged).
 */
export const SegmentSchema = z.object({
  recorderId: IdSchema,
  startedAt: IsoDateSchema.nullable(),
  endedAt: IsoDateSchema.nullable(),
  file: z.string().min(1),
});
export type Segment = z.infer<typeof SegmentSchema>;

/** Media missing from the joined file: at `atMs` of the file, `ms` of wall time were not recorded (a handover). */
export const GapSchema = z.object({ atMs: z.number().int().nonnegative(), ms: z.number().int().nonnegative() });
export type Gap = z.infer<typeof GapSchema>;

/** The recording object of the catalog and of the HTTP API. */
export const RecordingSchema = z.object({
  id: IdSchema,
  sessionId: IdSchema,
  status: RecordingStatusSchema,
  createdAt: IsoDateSchema,
  /** when the first keyframe was written: the moment the recording really began */
  startedAt: IsoDateSchema.nullable(),
  stoppedAt: IsoDateSchema.nullable(),
  updatedAt: IsoDateSchema,
  durationMs: z.number().int().nonnegative().nullable(),
  sizeBytes: z.number().int().nonnegative().nullable(),
  container: ContainerSchema,
  audioCodec: OutputAudioCodecSchema.nullable(),
  tracks: z.array(RecordedTrackSchema),
  fileName: z.string().min(1),
  storage: StorageKindSchema,
  mediaId: IdSchema.nullable(),
  recorderId: IdSchema.nullable(),
  /** milliseconds from the start request to the first keyframe written */
  firstKeyframeMs: z.number().int().nonnegative().nullable(),
  stopReason: StopReasonSchema.nullable(),
  /**
   * the decode check of a `done` file; null until the recorder's background verification has run (a `done`
   * entry is final before its file is verified), and stays null with RECORDER_VERIFY=off; absent from
   * entries older than the field
   */
  fileCheck: FileCheckSchema.nullable()
    .optional()
    .describe('decode check of a done file: null until the recorder has verified it in the background (RECORDER_VERIFY), and with RECORDER_VERIFY=off'),
  /** what happened to the media (packets, losses, frames, resolution changes); absent from entries older than the field */
  stats: RecordingStatsSchema.optional().describe(
    'what happened to the media: ingest counts from media, file counts from the recorder; null fields are not known yet',
  ),
  /** present once the recording moved to another recorder at least once (see SegmentSchema) */
  segments: z.array(SegmentSchema).optional(),
  /** the gaps of the joined file, one per handover that lost media; absent when the recording never moved */
  gaps: z.array(GapSchema).optional(),
  error: ErrorBodySchema.optional(),
});
export type Recording = z.infer<typeof RecordingSchema>;

const NEXT: Record<RecordingStatus, readonly RecordingStatus[]> = {
  starting: ['recording', 'stopping', 'done', 'failed'],
  recording: ['stopping', 'done', 'failed'],
  stopping: ['done', 'failed'],
  done: [],
  failed: [],
};

/** Status only moves forward, so concurrent writers (signaling, media, recorder) cannot undo each other. */
export function canTransition(from: RecordingStatus, to: RecordingStatus): boolean {
  return from === to || NEXT[from].includes(to);
}

export function isTerminal(status: RecordingStatus): boolean {
  return status === 'done' || status === 'failed';
}
