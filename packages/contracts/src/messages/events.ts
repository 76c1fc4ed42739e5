import { z } from 'zod';
import { ErrorBodySchema } from '../error-codes.js';
import { IdSchema, IsoDateSchema } from '../ids.js';
import { FileCheckSchema, StopReasonSchema } from '../recording.js';
import { RecordingReportSchema } from './recorder.js';

/** Published on `events.v1.recording.<recordingId>` by whoever saw the change happen. */
export const RecordingEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('listening'), recordingId: IdSchema, recorderId: IdSchema, at: IsoDateSchema }),
  z.object({ type: z.literal('first-keyframe'), recordingId: IdSchema, recorderId: IdSchema, at: IsoDateSchema }),
  z.object({ type: z.literal('stopping'), recordingId: IdSchema, reason: StopReasonSchema, at: IsoDateSchema }),
  z.object({ type: z.literal('finished'), recordingId: IdSchema, report: RecordingReportSchema, at: IsoDateSchema }),
  z.object({ type: z.literal('failed'), recordingId: IdSchema, error: ErrorBodySchema, at: IsoDateSchema }),
]);
export type RecordingEvent = z.infer<typeof RecordingEventSchema>;

/** Published on `events.v1.session.<sessionId>` by the media instance that holds the session. */
export const SessionEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('connected'), sessionId: IdSchema, mediaId: IdSchema, at: IsoDateSchema }),
  z.object({
    type: z.literal('closed'),
    sessionId: IdSchema,
    mediaId: IdSchema,
    reason: z.enum(['requested', 'publisher-left', 'shutdown', 'ice-timeout']),
    at: IsoDateSchema,
  }),
]);
export type SessionEvent = z.infer<typeof SessionEventSchema>;

/**
 * Published on `events.v1.recording.verified.<recordingId>` (`subjects.events.recordingVerified`) by the
 * recorder once its background verification of a `done` file has finished; the catalog's `fileCheck` says
 * the same. Not part of RecordingEventSchema: its own subject, so consumers of the other events are not
 * handed a type they do not know.
 */
export const RecordingVerifiedEventSchema = z.object({
  type: z.literal('verified'),
  recordingId: IdSchema,
  recorderId: IdSchema,
  fileCheck: FileCheckSchema,
  /** `full`: every frame decoded; `keyframes`: keyframes decoded, every packet read (RECORDER_VERIFY) */
  mode: z.enum(['full', 'keyframes']),
  at: IsoDateSchema,
});
export type RecordingVerifiedEvent = z.infer<typeof RecordingVerifiedEventSchema>;
