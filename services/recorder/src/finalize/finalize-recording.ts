import type { ErrorBody, RecordingReport, StopReason } from '@recstack/contracts';
import { toErrorBody, type Logger } from '@recstack/service-kit';
import type { RecordingPlan } from '../recording-plan.js';
import { finalizeFile } from './file-finalizer.js';
import { probeFile, type FileFacts, type ProbeTools } from './file-probe.js';
import { buildReport } from './recording-report.js';

export interface FinalizeSettings {
  recorderId: string;
  ffmpeg: string;
  tools: ProbeTools;
  /** free space a finalizing copy must leave (RECORDER_STOP_FREE_BYTES) */
  keepFreeBytes?: number;
  /** the file is verified (decoded) in the background after the report: the report says `pending` */
  verify: boolean;
}

/** What a recording job knows when its child has ended. */
export interface FinalizeInput {
  plan: RecordingPlan;
  reason: StopReason;
  startedAt: Date | undefined;
  stoppedAt: Date;
  /** the muxer finished the file itself (EOS reached it, or FFmpeg exited 0) */
  endedCleanly: boolean;
  budgetMs: number;
}

/**
 * The file a child left becomes the one copy (finalizeFile), is probed, and the report says what is in it.
 * Never throws: whatever happens, the caller gets a report (failed, with the reason, if need be).
 */
export async function finalizeRecording(input: FinalizeInput, settings: FinalizeSettings, log: Logger): Promise<RecordingReport> {
  const { plan } = input;
  const base = { plan, recorderId: settings.recorderId, startedAt: input.startedAt, stoppedAt: input.stoppedAt, reason: input.reason };
  try {
    const started = Date.now();
    const outcome = await finalizeFile(plan, input.endedCleanly, settings.ffmpeg, log, input.budgetMs, settings.keepFreeBytes);
    const finalizedAt = Date.now();
    // no decode here: a stop is done once the file is final and probed (streams, duration, stats and the
    // first-frame check in one read); the full decode runs in the background
    const file: { ok: true; facts: FileFacts } | { ok: false; error: ErrorBody } = await probeFile(outcome.path, settings.tools).then(
      (facts) => ({ ok: true as const, facts }),
      (err: unknown) => ({ ok: false as const, error: toErrorBody(err) }),
    );
    log.info({ action: outcome.action, problem: outcome.problem, finalizeMs: finalizedAt - started, probeMs: Date.now() - finalizedAt }, 'file finalized');
    if (file.ok && plan.video && file.facts.firstFrameIsKeyframe === false) log.warn('the first video frame of the file is not a keyframe');
    return buildReport({ ...base, file, decode: file.ok && settings.verify ? 'pending' : undefined, finalizeProblem: outcome.problem });
  } catch (err) {
    log.error({ err }, 'finalizing the recording failed');
    return buildReport({
      ...base,
      file: { ok: false, error: { code: 'RECORDER_FAILED', message: 'the recording could not be finalized' } },
      decode: undefined,
      finalizeProblem: undefined,
    });
  }
}
