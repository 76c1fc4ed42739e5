import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VideoCodecSchema, fileExtension, type Container, type Engine, type ErrorBody, type Recording, type RecordingReport } from '@recstack/contracts';
import { toErrorBody, type Logger } from '@recstack/service-kit';
import { finalizeFile } from '../finalize/file-finalizer.js';
import { probeFile, type FileFacts, type ProbeTools } from '../finalize/file-probe.js';
import { isCompactedMp4 } from '../finalize/mp4-compact.js';
import { undeclaredAacPriming, type RecordingPlan, type TrackPlan } from '../recording-plan.js';
import { buildReport } from '../finalize/recording-report.js';

export interface SalvageSettings {
  recorderId: string;
  recordingsDir: string;
  engine: Engine;
  bindAddress: string;
  maxDurationMs: number;
  tools: ProbeTools;
  /** free space a finalizing copy must leave (RECORDER_STOP_FREE_BYTES) */
  keepFreeBytes?: number;
  /** the file is verified in the background after the report (RECORDER_VERIFY is not off) */
  verify: boolean;
}

/** The recording as the catalog knows it: enough to find its file and report on it. */
export type SalvageEntry = Pick<Recording, 'id' | 'sessionId' | 'container' | 'audioCodec' | 'fileName' | 'startedAt'>;

/** One path segment of the form `<id>.<ext>`: a catalog entry can never point the salvage elsewhere. */
const SAFE_FILE_NAME = /^[A-Za-z0-9_-]{1,64}\.[a-z0-9]{1,8}$/;
const INTERMEDIATE: readonly Container[] = ['mkv', 'mp4'];
const FINALIZE_BUDGET_MS = 120_000;

/**
 * What a recording left in the folder, as the plan the finalizer works from: the file the child wrote
 * (the requested container, or the intermediate `.partial.<ext>` one) and the step that turns it into the
 * file users get. Leftovers of an interrupted rewrite (`.finalizing.*`) are removed: their source is intact.
 * Undefined when the recording left nothing here.
 */
export async function salvagePlan(entry: SalvageEntry, settings: SalvageSettings): Promise<RecordingPlan | undefined> {
  if (!SAFE_FILE_NAME.test(entry.fileName)) return undefined;
  const outputPath = join(settings.recordingsDir, entry.fileName);
  await Promise.all(['.mp4', '.mkv'].map((ext) => rm(`${outputPath}.finalizing${ext}`, { force: true })));
  const base = {
    recordingId: entry.id,
    sessionId: entry.sessionId,
    engine: settings.engine,
    container: entry.container,
    audioCodec: entry.audioCodec,
    video: undefined,
    audio: undefined,
    bindAddress: settings.bindAddress,
    fileName: entry.fileName,
    outputPath,
    maxDurationMs: settings.maxDurationMs,
  };
  const partials = INTERMEDIATE.filter((c) => c !== entry.container).map((c) => ({ container: c, path: `${outputPath}.partial${fileExtension(c)}` }));
  if (await exists(outputPath)) {
    // a rewrite renames its result over the output path, so an output next to a partial is the finished one
    await Promise.all(partials.map((p) => rm(p.path, { force: true })));
    return {
      ...base,
      ...(await tracksIn(outputPath, settings)),
      writePath: outputPath,
      writeContainer: entry.container,
      finalize: entry.container === 'mp4' ? 'compact-mp4' : 'none',
    };
  }
  for (const partial of partials) {
    if (await exists(partial.path)) {
      return { ...base, ...(await tracksIn(partial.path, settings)), writePath: partial.path, writeContainer: partial.container, finalize: 'remux' };
    }
  }
  return undefined;
}

/**
 * The tracks of the plan, as far as the finalizer needs them (which video codec it rewrites), from the
 * file itself: the request that described them died with the recorder. A file that cannot be probed yet
 * gets none; the finalizer then only copies it.
 */
async function tracksIn(path: string, settings: SalvageSettings): Promise<Pick<RecordingPlan, 'video' | 'audio' | 'audioLeadSamples'>> {
  const facts = await probeFile(path, settings.tools).catch(() => undefined);
  const track = (kind: 'video' | 'audio', codec: TrackPlan['codec']): TrackPlan => ({
    kind,
    codec,
    payloadType: 0,
    clockRate: kind === 'video' ? 90000 : 48000,
    channels: kind === 'video' ? 1 : 2,
    port: 0,
    rtcpPort: 0,
    fmtp: new Map(),
    fmtpLine: undefined,
  });
  const video = VideoCodecSchema.safeParse(facts?.tracks.find((t) => t.kind === 'video')?.codec);
  const audio = facts?.tracks.find((t) => t.kind === 'audio');
  // a file FFmpeg wrote is either the FFmpeg engine's or one already finalized (its audio already moved);
  // so is a compacted MP4 (the stop's compaction ran, the recorder died before reporting)
  const writtenByFfmpeg = facts?.encoder?.startsWith('Lavf') ?? false;
  const alreadyFinal = writtenByFfmpeg || (await isCompactedMp4(path).catch(() => false));
  return {
    video: video.success ? track('video', video.data) : undefined,
    audio: audio ? track('audio', 'opus') : undefined,
    audioLeadSamples: audio?.codec === 'aac' && !alreadyFinal ? undeclaredAacPriming('gstreamer') : 0,
  };
}

/** Whether the recording left a file in the folder, and when it was last written. */
export async function leftoverFile(entry: SalvageEntry, settings: SalvageSettings): Promise<{ path: string; modifiedMs: number } | undefined> {
  if (!SAFE_FILE_NAME.test(entry.fileName)) return undefined;
  const outputPath = join(settings.recordingsDir, entry.fileName);
  for (const path of [outputPath, ...INTERMEDIATE.map((c) => `${outputPath}.partial${fileExtension(c)}`)]) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) return { path, modifiedMs: info.mtimeMs };
  }
  return undefined;
}

/**
 * Finalizes what a dead recorder left (its child stopped or killed; the crash-safe file is playable up to
 * the last index update): rewrite, probe, full decode, and the report, reason `error` (the recording ended
 * because its recorder died). Never throws: a file that cannot be salvaged gets a `failed` report saying why.
 */
export async function salvageRecording(entry: SalvageEntry, settings: SalvageSettings, logger: Logger): Promise<RecordingReport> {
  const log = logger.child({ recordingId: entry.id, sessionId: entry.sessionId });
  const plan = await salvagePlan(entry, settings);
  const startedAt = entry.startedAt ? new Date(entry.startedAt) : undefined;
  if (!plan) {
    const fallback: RecordingPlan = {
      recordingId: entry.id,
      sessionId: entry.sessionId,
      engine: settings.engine,
      container: entry.container,
      audioCodec: entry.audioCodec,
      video: undefined,
      audio: undefined,
      bindAddress: settings.bindAddress,
      fileName: entry.fileName,
      outputPath: join(settings.recordingsDir, entry.fileName),
      writePath: join(settings.recordingsDir, entry.fileName),
      writeContainer: entry.container,
      finalize: 'none',
      audioLeadSamples: 0,
      maxDurationMs: settings.maxDurationMs,
    };
    const error: ErrorBody = { code: 'FILE_INVALID', message: 'the recording file was not written' };
    return buildReport({
      plan: fallback,
      recorderId: settings.recorderId,
      file: { ok: false, error },
      decode: undefined,
      finalizeProblem: undefined,
      startedAt,
      stoppedAt: new Date(),
      reason: 'error',
    });
  }
  // the last write is when the recording really ended, not now
  const stoppedAt = await stat(plan.writePath).then(
    (s) => s.mtime,
    () => new Date(),
  );
  try {
    const outcome = await finalizeFile(plan, false, settings.tools.ffmpeg, log, FINALIZE_BUDGET_MS, settings.keepFreeBytes);
    log.info({ action: outcome.action, problem: outcome.problem }, 'salvaged file finalized');
    let file: { ok: true; facts: FileFacts } | { ok: false; error: ErrorBody };
    try {
      file = { ok: true, facts: await probeFile(outcome.path, settings.tools) };
    } catch (err) {
      file = { ok: false, error: toErrorBody(err) };
    }
    // verified in the background like any stopped recording (the service queues it when the report says pending)
    const decode = file.ok && settings.verify ? ('pending' as const) : undefined;
    return buildReport({ plan, recorderId: settings.recorderId, file, decode, finalizeProblem: outcome.problem, startedAt, stoppedAt, reason: 'error' });
  } catch (err) {
    log.error({ err }, 'salvaging the recording failed');
    const error: ErrorBody = { code: 'RECORDER_FAILED', message: 'the recording could not be salvaged' };
    return buildReport({
      plan,
      recorderId: settings.recorderId,
      file: { ok: false, error },
      decode: undefined,
      finalizeProblem: undefined,
      startedAt,
      stoppedAt,
      reason: 'error',
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
