import { RecordingReportSchema, type ErrorBody, type RecordingReport, type StopReason } from '@recstack/contracts';
import type { DecodeCheck, FileFacts } from './file-probe.js';
import type { RecordingPlan } from '../recording-plan.js';

export interface ReportInput {
  plan: RecordingPlan;
  recorderId: string;
  /** the probe's facts, or why the probe failed */
  file: { ok: true; facts: FileFacts } | { ok: false; error: ErrorBody };
  /** `pending`: the file is verified in the background after the report (RECORDER_VERIFY) */
  decode: DecodeCheck | 'pending' | undefined;
  /** the file ended up somewhere other than the requested container (a rewrite failed) */
  finalizeProblem: string | undefined;
  startedAt: Date | undefined;
  stoppedAt: Date;
  reason: StopReason;
}

/**
 * The report of a finished recording. A file that cannot be probed, holds no media, or is not in the
 * requested container is `failed` with the reason, never `done`.
 */
export function buildReport(input: ReportInput): RecordingReport {
  const { plan, file } = input;
  const base = {
    recordingId: plan.recordingId,
    sessionId: plan.sessionId,
    recorderId: input.recorderId,
    fileName: plan.fileName,
    container: plan.container,
    audioCodec: plan.audioCodec,
    startedAt: input.startedAt?.toISOString() ?? null,
    stoppedAt: input.stoppedAt.toISOString(),
    reason: input.reason,
  };
  const failed = (error: ErrorBody, facts?: FileFacts): RecordingReport =>
    RecordingReportSchema.parse({
      ...base,
      status: 'failed',
      sizeBytes: facts?.sizeBytes ?? 0,
      durationMs: facts?.durationMs ?? 0,
      tracks: facts?.tracks ?? [],
      ...(facts?.stats ? { stats: facts.stats } : {}),
      decodesCleanly: false,
      ...(input.decode && input.decode !== 'pending' ? { decodeCheck: input.decode.scope } : {}),
      error,
    });

  if (!file.ok) return failed(noMediaIfNeverStarted(file.error, input));
  const { facts } = file;
  if (facts.tracks.length === 0 || facts.durationMs === 0) {
    return failed({ code: 'NO_MEDIA', message: 'the file holds no audio or video: no media reached the recorder' }, facts);
  }
  if (plan.finalize === 'remux' && input.finalizeProblem) {
    return failed({ code: 'FILE_INVALID', message: `the recording could not be converted to ${plan.container}` }, facts);
  }
  return RecordingReportSchema.parse({
    ...base,
    status: 'done',
    sizeBytes: facts.sizeBytes,
    durationMs: facts.durationMs,
    tracks: facts.tracks,
    ...(facts.stats ? { stats: facts.stats } : {}),
    ...(input.decode === 'pending'
      ? { decodesCleanly: false, decodeCheck: 'pending' }
      : { decodesCleanly: input.decode?.clean ?? false, decodeCheck: input.decode?.scope ?? 'none' }),
  });
}

/** An empty file after an RTP timeout with no keyframe ever written means nothing was sent. */
function noMediaIfNeverStarted(error: ErrorBody, input: ReportInput): ErrorBody {
  if (input.startedAt === undefined && /not written|empty/.test(error.message)) {
    return { code: 'NO_MEDIA', message: `no media reached the recorder (${error.message})` };
  }
  return error;
}
