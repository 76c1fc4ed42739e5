import { rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Container } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { audioLeadArgs } from './audio-lead.js';
import { run } from './file-probe.js';
import type { RecordingPlan } from '../recording-plan.js';
import { compactMp4 } from './mp4-compact.js';
import { copyWontFit } from '../storage/disk-space.js';

export interface FinalizeOutcome {
  /** the file to probe and report: the plan's output path unless a rewrite failed */
  path: string;
  /** what was done, for the log */
  action: 'compacted' | 'remuxed' | 'repaired' | 'kept' | 'none';
  /** why a rewrite failed and the file was kept as written */
  problem?: string;
}

const FORMAT: Record<Container, string> = { mp4: 'mp4', webm: 'webm', mkv: 'matroska' };

/**
 * Turns what the child wrote into the file users get, after the child has exited (cleanly or not). Every
 * frame keeps the timestamp it was captured with (its RTP timestamp, as the child wrote it); the one copy,
 * when one is needed at all, is a stream copy:
 * - crash-safe MP4 → plain MP4 with the index at the front, dropping the reserved slack: in this process
 *   (mp4-compact.ts) when the file ended cleanly, with FFmpeg (`+faststart`) otherwise;
 * - H264-in-MP4 written for a Matroska request → Matroska, VP9/AV1-in-Matroska for an MP4 request → MP4;
 * - Matroska/WebM that did not end cleanly → rewritten so its index and duration are right;
 * - audio behind by undeclared encoder priming (plan.audioLeadSamples) moved back in step with the video.
 * A Matroska/WebM file that ended cleanly is final as written: no copy. Each rewrite goes to a temporary
 * file renamed over the target, so the target is never half-written; if it fails, the file as the child
 * wrote it stays (it is playable: that is what crash-safe means). No copy starts unless it fits in the free
 * space with `keepFreeBytes` to spare (storage/disk-space.ts): a recording ended because the disk is nearly
 * full stays as written.
 */
export async function finalizeFile(
  plan: RecordingPlan,
  endedCleanly: boolean,
  ffmpeg: string,
  logger: Logger,
  budgetMs = 120_000,
  keepFreeBytes = 0,
): Promise<FinalizeOutcome> {
  if (!(await nonEmpty(plan.writePath))) return { path: plan.writePath, action: 'none' };
  const copyNeeded = plan.finalize !== 'none' || !endedCleanly || plan.audioLeadSamples > 0;
  if (!copyNeeded) return { path: plan.outputPath, action: 'none' };
  const action: FinalizeOutcome['action'] = plan.finalize === 'compact-mp4' ? 'compacted' : plan.finalize === 'remux' ? 'remuxed' : 'repaired';
  const kept = await keptForSpace(plan, keepFreeBytes, action, logger);
  if (kept) return kept;
  const tmp = `${plan.outputPath}.finalizing${plan.container === 'mp4' ? '.mp4' : '.mkv'}`;
  if (plan.finalize === 'compact-mp4' && endedCleanly) {
    const compacted = await compactMp4(plan.writePath, tmp, plan.audioLeadSamples).catch((err: unknown) => ({
      ok: false as const,
      reason: err instanceof Error ? err.message : String(err),
    }));
    if (compacted.ok) return replace(plan, tmp, action);
    await rm(tmp, { force: true });
    logger.debug({ reason: compacted.reason }, 'compacting in process not possible, copying with FFmpeg');
  }

  const args = ['-nostdin', '-v', 'error', '-i', plan.writePath, '-map', '0', '-c', 'copy', ...audioLeadArgs(plan.audioLeadSamples, plan.container)];
  if (plan.container === 'mp4') args.push('-movflags', '+faststart');
  args.push('-f', FORMAT[plan.container], '-y', tmp);
  // normal priority: a user waits for this copy (it is short: ~0.1 s per 20 s of file), unlike the
  // recording children (RECORDER_CHILD_NICE) and the background verification (nice 19)
  const result = await run(ffmpeg, args, Math.max(1000, budgetMs));
  if (result.code === 0 && (await nonEmpty(tmp))) return replace(plan, tmp, action);
  await rm(tmp, { force: true });
  const problem = result.timedOut ? 'the rewrite took too long' : (result.stderr.split('\n').find((l) => l.trim()) ?? `ffmpeg exit code ${result.code}`);
  // after a failed remux the intermediate file stays too: it is reported failed (wrong container), not lost
  logger.warn({ action, problem, path: plan.writePath }, 'file rewrite failed, keeping the file as written');
  return { path: plan.writePath, action: 'kept', problem };
}

/** The outcome when the copy would not fit (the file stays as written), undefined when it fits. */
async function keptForSpace(
  plan: RecordingPlan,
  keepFreeBytes: number,
  action: FinalizeOutcome['action'],
  logger: Logger,
): Promise<FinalizeOutcome | undefined> {
  const problem = await copyWontFit(plan.writePath, dirname(plan.outputPath), keepFreeBytes).catch(() => undefined);
  if (!problem) return undefined;
  logger.warn({ action, problem, path: plan.writePath }, 'file rewrite skipped, keeping the file as written');
  return { path: plan.writePath, action: 'kept', problem };
}

async function replace(plan: RecordingPlan, tmp: string, action: FinalizeOutcome['action']): Promise<FinalizeOutcome> {
  await rename(tmp, plan.outputPath);
  if (plan.writePath !== plan.outputPath) await rm(plan.writePath, { force: true });
  return { path: plan.outputPath, action };
}

async function nonEmpty(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.size > 0,
    () => false,
  );
}
