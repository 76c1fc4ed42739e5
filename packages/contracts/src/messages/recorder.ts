import { z } from 'zod';
import { ErrorBodySchema } from '../error-codes.js';
import { IdSchema, IsoDateSchema } from '../ids.js';
import { AudioCodecSchema, ContainerSchema, MediaKindSchema, OutputAudioCodecSchema, VideoCodecSchema } from '../media-formats.js';
import { DecodeScopeSchema, FileStatsSchema, GapSchema, RecordedTrackSchema, SegmentSchema, StopReasonSchema, StorageKindSchema } from '../recording.js';
import { RecordingCostTableSchema } from '../recording-cost.js';

export const ENGINES = ['gstreamer', 'ffmpeg'] as const;
export const EngineSchema = z.enum(ENGINES);
export type Engine = z.infer<typeof EngineSchema>;

/** RTP arrives on `port`, RTCP (sender reports, for A/V sync) on `port + 1`. */
export const RtpTrackSpecSchema = z
  .object({
    kind: MediaKindSchema,
    codec: z.union([VideoCodecSchema, AudioCodecSchema]),
    payloadType: z.number().int().min(0).max(127),
    clockRate: z.number().int().positive(),
    channels: z.number().int().min(1).max(8).optional(),
    /** the fmtp line's parameters, as negotiated with the publisher (e.g. "packetization-mode=1;profile-level-id=42e01f") */
    fmtp: z.string().max(1024).optional(),
    port: z.number().int().min(1024).max(65534),
  })
  .refine((t) => (t.kind === 'audio') === (t.codec === 'opus'), { message: 'codec does not match the track kind' });
export type RtpTrackSpec = z.infer<typeof RtpTrackSpecSchema>;

export const RecorderStartRequestSchema = z
  .object({
    recordingId: IdSchema,
    sessionId: IdSchema,
    tracks: z.array(RtpTrackSpecSchema).min(1).max(2),
    container: ContainerSchema,
    audioCodec: OutputAudioCodecSchema.nullable(),
    /** the publisher's video bitrate when media knows it (kbit/s): the recorder's cost model scales with it */
    videoKbps: z.number().int().positive().max(1_000_000).optional(),
    /**
     * a handover: this recorder records segment `index` (1, 2, ...) of a recording that began elsewhere, into
     * its own file; at the end it joins `previous` (the earlier segments, oldest first) and its own into the
     * recording's one file, salvaging a dead recorder's unfinished segment file on the way
     */
    segment: z.object({ index: z.number().int().min(1).max(1000), previous: z.array(SegmentSchema).min(1).max(1000) }).optional(),
  })
  .refine((r) => new Set(r.tracks.map((t) => t.kind)).size === r.tracks.length, {
    message: 'at most one audio and one video track',
  })
  .refine((r) => new Set(r.tracks.flatMap((t) => [t.port, t.port + 1])).size === r.tracks.length * 2, {
    message: 'track ports (and their RTCP ports, port + 1) must be distinct',
  });
export type RecorderStartRequest = z.infer<typeof RecorderStartRequestSchema>;

/** Sent once the recorder's sockets are bound and its pipeline is playing: RTP may flow now. */
export const RecorderListeningSchema = z.object({
  recordingId: IdSchema,
  recorderId: IdSchema,
  /** the address media must send RTP to */
  host: z.string().min(1),
  ports: z.array(z.number().int()),
  fileName: z.string().min(1),
  engine: EngineSchema,
});
export type RecorderListening = z.infer<typeof RecorderListeningSchema>;

export const RecorderStopRequestSchema = z.object({
  recordingId: IdSchema,
  reason: StopReasonSchema,
  /**
   * the recording went on on another recorder: finalize this segment's file and answer with its report, but
   * leave the catalog and the recording's events alone (the recording is not over)
   */
  handover: z.boolean().optional(),
});
export type RecorderStopRequest = z.infer<typeof RecorderStopRequestSchema>;

/** What the recorder found in the finished file. A file that fails the probe is reported `failed`. */
export const ReportDecodeCheckSchema = z.enum([...DecodeScopeSchema.options, 'pending']);
export type ReportDecodeCheck = z.infer<typeof ReportDecodeCheckSchema>;

export const RecordingReportSchema = z.object({
  recordingId: IdSchema,
  sessionId: IdSchema,
  recorderId: IdSchema,
  status: z.enum(['done', 'failed']),
  fileName: z.string().min(1),
  sizeBytes: z.number().int().nonnegative(),
  durationMs: z.number().int().nonnegative(),
  container: ContainerSchema,
  audioCodec: OutputAudioCodecSchema.nullable(),
  tracks: z.array(RecordedTrackSchema),
  /** the decode check (see `decodeCheck` for how much of the file it covered) printed no error; false while `pending` (not known yet) */
  decodesCleanly: z.boolean(),
  /**
   * how much the decode check covered (`none`: no time left, or no file; `decodesCleanly` is then false);
   * `pending`: the report does not wait for it, the file is verified in the background and the result comes
   * in a `recording.verified` event (and the catalog's `fileCheck`); absent from recorders that predate the field
   */
  decodeCheck: ReportDecodeCheckSchema.optional(),
  startedAt: IsoDateSchema.nullable(),
  stoppedAt: IsoDateSchema,
  reason: StopReasonSchema,
  error: ErrorBodySchema.optional(),
  /**
   * where the file is now: `nats` once it is in the object store (verified by size and digest), `local` in
   * the recordings folder; absent from recorders that predate the field (means `local`)
   */
  storage: StorageKindSchema.optional(),
  /** what the file holds: frames, keyframes, the longest gap, resolution changes; absent from older recorders, or when the file could not be read */
  stats: FileStatsSchema.optional(),
  /** the segments joined into the file, and its gaps (a recording that moved between recorders) */
  segments: z.array(SegmentSchema).optional(),
  gaps: z.array(GapSchema).optional(),
});
export type RecordingReport = z.infer<typeof RecordingReportSchema>;

export const RecorderPingSchema = z.object({}).strict();
export const RecorderPongSchema = z.object({
  recorderId: IdSchema,
  engine: EngineSchema,
  host: z.string(),
  active: z.number().int().nonnegative(),
  capacity: z.number().int().nonnegative(),
  /**
   * ids of the recordings this instance holds: running, finalizing, being salvaged or uploaded. Lets a
   * reconciler tell "its recorder is alive but lost it" from "still working on it". Optional: older
   * recorders do not send it.
   */
  recordings: z.array(IdSchema).max(10_000).optional(),
  /**
   * Admission by cost (all optional: older recorders send none of them; place by `active`/`capacity` then).
   * Units are hundredths of a percent of one CPU core (`COST_UNITS_PER_CORE`). The recorder refuses a
   * start with AT_CAPACITY when `loadUnits + recordingCost(costs, request) > capacityUnits`, or while
   * `cpuPercent >= maxCpuPercent`.
   */
  capacityUnits: z.number().int().nonnegative().optional(),
  /** the summed cost of the recordings it is recording now (finalizing and background verification excluded) */
  loadUnits: z.number().int().nonnegative().optional(),
  /** what a recording costs on this recorder: compute a start's cost with `recordingCost(costs, request)` */
  costs: RecordingCostTableSchema.optional(),
  /** CPU busy over the last measuring window, % of its machine or cgroup limit (0-100); null until measured */
  cpuPercent: z.number().min(0).max(100).nullable().optional(),
  /** the CPU threshold above which it refuses starts (`RECORDER_MAX_CPU`) */
  maxCpuPercent: z.number().min(1).max(100).optional(),
});
export type RecorderPong = z.infer<typeof RecorderPongSchema>;

/** `recorder.v1.draining`: a recorder shutting down asks media to move its recordings elsewhere (RECORDER_DRAIN=handover). */
export const RecorderDrainingSchema = z.object({
  recorderId: IdSchema,
  recordingIds: z.array(IdSchema).max(10_000),
});
export type RecorderDraining = z.infer<typeof RecorderDrainingSchema>;

/**
 * `recorder.v1.lost`: a recorder started on the folder of a recorder that died (the same RECORDER_ID after a
 * restart, or another one on the same disk) found running recordings that recorder held: their children are
 * orphaned (or gone) and it finalizes what they wrote as a segment. Media hands each over at once
 * (`recorderId` is the dead holder's id; when it is the reporter's own, the fresh process may take the
 * recordings back).
 */
export const RecorderLostSchema = z.object({
  /** the recorder that held the recordings and is gone (its process; the id may live on in `reportedBy`) */
  recorderId: IdSchema,
  /**
   * each recording with the file of the segment that was being written when the recorder died: media hands
   * over only a recording still writing that segment (one it already moved, even back to the same id, is left)
   */
  recordings: z
    .array(z.object({ recordingId: IdSchema, file: z.string().min(1).max(200) }))
    .min(1)
    .max(10_000),
  /** the recorder that found them */
  reportedBy: IdSchema,
});
export type RecorderLost = z.infer<typeof RecorderLostSchema>;
