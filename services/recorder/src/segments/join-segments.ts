import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gap, RecordingReport, Segment } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { probeFile, run, type FileFacts } from '../finalize/file-probe.js';
import type { RecordingPlan } from '../recording-plan.js';
import { salvageRecording, type SalvageSettings } from '../recovery/salvage.js';
import { bytesWontFit, copyWontFit } from '../storage/disk-space.js';
import { segmentObjectName } from '../storage/recording-storage.js';
import { joinedDuration, readSegmentSpan, type SegmentSpan } from './segment-span.js';

/** A segment whose file is ready to be joined, with the facts the gaps are computed from. */
export interface ReadySegment {
  segment: Segment;
  path: string;
  durationMs: number;
  /**
   * how long the segment lasts in the joined file (µs), until every packet of it ended (segment-span.ts); the
   * concat list's `duration`. Undefined for the last segment, or when it could not be read (the container's
   * duration is used)
   */
  joinedUs?: number;
}

/**
 * Where earlier segments are when they are not in this recorder's folder: STORAGE=nats puts a handed-over
 * segment into the object store (its recorder's disk is not this one's).
 */
export interface SegmentSource {
  /** the size of the segment's object, undefined when there is none (checked against the free space first) */
  size(fileName: string): Promise<number | undefined>;
  /** brings the segment's file into the recordings folder; false when there is none to bring */
  fetch(fileName: string): Promise<boolean>;
  /** forgets the segment once the segments are joined */
  discard(fileName: string): Promise<void>;
}

const JOIN_BUDGET_MS = 120_000;
/** a draining recorder may still be finalizing its segment when the next one stops: wait this long for it */
const SETTLE_WAIT_MS = 10_000;

/** An earlier segment before the join: where its file is, and how many bytes it has there. */
interface LocatedSegment {
  segment: Segment;
  path: string;
  /** `here`: finished, in the folder; `partial`: unfinished (a dead recorder's), salvaged first; `store`: to fetch */
  where: 'here' | 'partial' | 'store' | 'nowhere';
  bytes: number;
}

/** A copy of the join would not fit in the free space with RECORDER_STOP_FREE_BYTES to spare: none is started. */
class JoinWontFit extends Error {}

/**
 * Joins the earlier segments of a recording (`previous`, oldest first) and this recorder's own (`own`, its
 * report) into the recording's one file, `<recordingId>.<ext>`, with the FFmpeg concat demuxer and `-c copy`
 * (same codecs and container on every recorder: media sends each the same request). The joiner is the
 * recorder holding the last segment. An earlier segment's file is in the shared recordings folder
 * (STORAGE=local) or is fetched from `source` (STORAGE=nats: its recorder uploaded it when it handed the
 * recording over, or after a restart on its disk). A segment a dead recorder left unfinished is salvaged
 * first; one that holds nothing, or is nowhere, is left out (its time becomes part of a gap). The segment
 * files are removed once the joined file probes, and the segments' objects once the segments are joined.
 *
 * No copy starts unless it fits with `settings.keepFreeBytes` to spare (storage/disk-space.ts, the
 * finalizer's rule): the whole join (fetches and the joined file) is checked before the first copy, and each
 * copy again before it starts. When the segments are not joined (no room, or the join failed) the own
 * segment's report stands with every segment listed, each segment stays as written (the objects too), and
 * the report's `error` says so: `INSUFFICIENT_STORAGE` for the room, `RECORDER_FAILED` otherwise.
 */
export async function joinSegments(
  own: RecordingReport,
  plan: RecordingPlan,
  previous: readonly Segment[],
  settings: SalvageSettings,
  logger: Logger,
  source?: SegmentSource,
): Promise<RecordingReport> {
  const log = logger.child({ recordingId: plan.recordingId, segments: previous.length + 1 });
  // a last segment that failed leaves the earlier ones where they are: they may be all the recording has
  if (own.status !== 'done') return own;
  const outcome = await joinReady(own, plan, previous, settings, log, source);
  if (source && outcome.joined) await Promise.all(previous.map((seg) => source.discard(seg.file)));
  return outcome.report;
}

async function joinReady(
  own: RecordingReport,
  plan: RecordingPlan,
  previous: readonly Segment[],
  settings: SalvageSettings,
  log: Logger,
  source: SegmentSource | undefined,
): Promise<{ report: RecordingReport; joined: boolean }> {
  const ownSegment: Segment = { recorderId: own.recorderId, startedAt: own.startedAt, endedAt: own.stoppedAt, file: own.fileName };
  const located: LocatedSegment[] = [];
  for (const seg of previous) located.push(await locate(seg, settings.recordingsDir, log, source));
  const keepFree = settings.keepFreeBytes ?? 0;
  // the whole join before its first copy: every fetch, and the joined file (the sum of its inputs)
  const ownBytes = await sizeOf(plan.outputPath);
  const fetchBytes = located.reduce((sum, l) => sum + (l.where === 'store' ? l.bytes : 0), 0);
  const joinBytes = located.reduce((sum, l) => sum + l.bytes, ownBytes);
  const wontFit = await noRoom(bytesWontFit(fetchBytes + joinBytes, settings.recordingsDir, keepFree, undefined, 'joining the segments'));
  if (wontFit) return notJoined(own, [...previous, ownSegment], located, 'INSUFFICIENT_STORAGE', wontFit, log);

  const ready: ReadySegment[] = [];
  const segments: Segment[] = [];
  const fetched: string[] = [];
  const finalName = `${plan.recordingId}${extensionOf(plan.fileName)}`;
  const finalPath = join(settings.recordingsDir, finalName);
  const joiningPath = join(settings.recordingsDir, `${plan.recordingId}.joining${extensionOf(plan.fileName)}`);
  const listPath = join(settings.recordingsDir, `${plan.recordingId}.segments.txt`);
  try {
    for (const l of located) {
      const found = await readySegment(l, plan, settings, log, source, fetched);
      segments.push(found?.segment ?? l.segment);
      if (found) ready.push(found);
    }
    segments.push(ownSegment);
    ready.push({ segment: ownSegment, path: plan.outputPath, durationMs: own.durationMs });

    const concatWontFit = await noRoom(
      copyWontFit(
        ready.map((r) => r.path),
        settings.recordingsDir,
        keepFree,
        undefined,
        'joining the segments',
      ),
    );
    if (concatWontFit) throw new JoinWontFit(concatWontFit);
    const placed = await placeSegments(ready, settings, log);
    await concat(placed, listPath, joiningPath, settings);
    const facts: FileFacts = await probeFile(joiningPath, settings.tools);
    // segment 0 is usually named like the final file: removed first, then the joined file takes its name
    await Promise.all(ready.map((r) => rm(r.path, { force: true })));
    await rename(joiningPath, finalPath);
    const gaps = gapsBetween(placed, segments[0]?.startedAt ?? null);
    log.info({ durationMs: facts.durationMs, gaps, joined: ready.length }, 'segments joined');
    return {
      joined: true,
      report: {
        ...own,
        fileName: finalName,
        sizeBytes: facts.sizeBytes,
        durationMs: facts.durationMs,
        tracks: facts.tracks,
        startedAt: segments[0]?.startedAt ?? own.startedAt,
        segments,
        gaps,
      },
    };
  } catch (err) {
    await rm(joiningPath, { force: true });
    // a fetched copy goes again: its object stays in the store, where the segment is kept
    await Promise.all(fetched.map((path) => rm(path, { force: true })));
    const listed = [...located.map((l, i) => segments[i] ?? l.segment), ownSegment];
    if (err instanceof JoinWontFit) return notJoined(own, listed, located, 'INSUFFICIENT_STORAGE', err.message, log);
    log.error({ err }, 'joining the segments failed, the recording keeps its last segment only');
    return notJoined(own, listed, located, 'RECORDER_FAILED', 'the join failed', log);
  } finally {
    await rm(listPath, { force: true });
  }
}

/**
 * The ready segments with how long each but the last lasts in the joined file: until every packet of it ended,
 * so that no stream's timestamps go back where the next one begins (segment-span.ts). A segment whose span
 * cannot be read keeps its container's duration (the concat demuxer's own choice).
 * The gaps are placed by those durations and measured from the end of the last packet.
 */
async function placeSegments(ready: readonly ReadySegment[], settings: SalvageSettings, log: Logger): Promise<ReadySegment[]> {
  const spans: (SegmentSpan | undefined)[] = [];
  for (const r of ready) {
    const span = await readSegmentSpan(r.path, r.durationMs, settings.tools.ffprobe);
    if (!span) log.warn({ file: r.segment.file }, 'segment span not read, joined at its container duration');
    spans.push(span);
  }
  return ready.map((r, i) => {
    const current = spans[i];
    if (!current || i === ready.length - 1) return r;
    // its media lasts until its last packet ended; the next one may start it later still (AAC priming)
    return { ...r, joinedUs: joinedDuration(current, spans[i + 1]), durationMs: Math.round((current.endUs - current.startUs) / 1000) };
  });
}

/** `ffmpeg -f concat -c copy` of the ready segments, in order, into `joiningPath`; throws when it fails. */
async function concat(ready: readonly ReadySegment[], listPath: string, joiningPath: string, settings: SalvageSettings): Promise<void> {
  await writeFile(listPath, ready.map(listEntry).join(''));
  const result = await run(
    settings.tools.ffmpeg,
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', listPath, '-map', '0', '-c', 'copy', joiningPath],
    JOIN_BUDGET_MS,
  );
  if (result.code !== 0) throw new Error(`ffmpeg concat exited with ${String(result.code)}: ${result.stderr.slice(-500)}`);
}

/** A segment's lines in the concat list: its file, and how long it lasts in the joined file when that is set. */
export function listEntry(r: ReadySegment): string {
  const file = `file '${r.path.replace(/'/g, "'\\''")}'\n`;
  return r.joinedUs === undefined ? file : `${file}duration ${(r.joinedUs / 1_000_000).toFixed(6)}\n`;
}

/**
 * The own segment's report when the segments are not joined: its file stays the recording's file (the one
 * the API serves), every segment is listed (`segments[].file`), and `error` says where the others are.
 */
function notJoined(
  own: RecordingReport,
  segments: Segment[],
  located: readonly LocatedSegment[],
  code: 'INSUFFICIENT_STORAGE' | 'RECORDER_FAILED',
  problem: string,
  log: Logger,
): { report: RecordingReport; joined: false } {
  const others = located
    .filter((l) => l.where !== 'nowhere')
    .map((l) => (l.where === 'store' ? `${segmentObjectName(l.segment.file)} in the object store` : l.segment.file));
  if (code === 'INSUFFICIENT_STORAGE') log.warn({ problem, kept: others }, 'segments not joined: not enough free space, each segment kept as written');
  const kept = others.length > 0 ? `; the earlier ones are kept as written: ${others.join(', ')}` : '';
  const message = `the ${segments.length} segments of this recording were not joined, ${problem}. This file is its last segment${kept}`;
  return { joined: false, report: { ...own, segments, error: { code, message } } };
}

/**
 * Media missing from the joined file: from the end of one joined segment (its first keyframe plus its
 * length, `durationMs`) to the first keyframe of the next, placed at the joined file's time where the next
 * begins (`joinedUs` when the join set it). A
 * segment that could not be joined (its file is nowhere: a dead recorder's disk this recorder does not see)
 * is missing time too, counted from the recording's first keyframe (`recordingStartedAt`) when it was the first.
 * Overlaps (a drain: the new recorder starts before the old one stops) are not gaps.
 */
export function gapsBetween(ready: readonly ReadySegment[], recordingStartedAt: string | null): Gap[] {
  const gaps: Gap[] = [];
  let atMs = 0;
  let previousEnd = recordingStartedAt ? Date.parse(recordingStartedAt) : undefined;
  for (const current of ready) {
    const start = current.segment.startedAt ? Date.parse(current.segment.startedAt) : undefined;
    if (start !== undefined && previousEnd !== undefined) {
      const ms = Math.round(start - previousEnd);
      if (ms > 0) gaps.push({ atMs, ms });
    }
    atMs += current.joinedUs !== undefined ? Math.round(current.joinedUs / 1000) : current.durationMs;
    previousEnd = start !== undefined ? start + current.durationMs : undefined;
  }
  return gaps;
}

/**
 * Where an earlier segment's file is, once whatever was still writing it is done: finished in the folder,
 * unfinished (a dead recorder's, to salvage), in the object store, or nowhere; with its size there.
 */
async function locate(seg: Segment, dir: string, log: Logger, source: SegmentSource | undefined): Promise<LocatedSegment> {
  const path = join(dir, seg.file);
  await settle(path, log);
  const partial = await anyPartial(path);
  if (partial) return { segment: seg, path, where: 'partial', bytes: await sizeOf(partial) };
  if (await isFile(path)) return { segment: seg, path, where: 'here', bytes: await sizeOf(path) };
  const stored = await source?.size(seg.file).catch((err: unknown) => {
    log.warn({ err, file: seg.file }, 'segment not found in the object store');
    return undefined;
  });
  return stored === undefined ? { segment: seg, path, where: 'nowhere', bytes: 0 } : { segment: seg, path, where: 'store', bytes: stored };
}

/**
 * An earlier segment's file, finalized: as its recorder left it, fetched, or salvaged here when it died.
 * Each copy it starts is checked against the free space first (JoinWontFit); a fetched file's path is added
 * to `fetched`.
 */
async function readySegment(
  located: LocatedSegment,
  plan: RecordingPlan,
  settings: SalvageSettings,
  log: Logger,
  source: SegmentSource | undefined,
  fetched: string[],
): Promise<ReadySegment | undefined> {
  const { segment: seg, path } = located;
  const keepFree = settings.keepFreeBytes ?? 0;
  if (located.where === 'store' && source) {
    const wontFit = await noRoom(bytesWontFit(located.bytes, settings.recordingsDir, keepFree, undefined, 'fetching a segment'));
    if (wontFit) throw new JoinWontFit(wontFit);
    const ok = await source.fetch(seg.file).catch((err: unknown) => {
      log.warn({ err, file: seg.file }, 'segment not fetched from the object store');
      return false;
    });
    if (ok) {
      fetched.push(path);
      log.info({ file: seg.file, recorderId: seg.recorderId }, 'segment fetched from the object store');
    }
  }
  if (located.where !== 'partial' && (await isFile(path))) {
    // a dead recorder's Matroska/WebM lacks what its muxer writes at the end (the duration, the cues): the
    // concat demuxer places the next segment by that duration, so the file is copied into a whole one first
    if (seg.endedAt === null && plan.container !== 'mp4') {
      const wontFit = await noRoom(copyWontFit(path, settings.recordingsDir, keepFree, undefined, 'rewriting a segment'));
      if (wontFit) throw new JoinWontFit(wontFit);
      await rewriteWhole(path, settings, log);
    }
    const facts = await probeFile(path, settings.tools).catch((err: unknown) => {
      log.warn({ err, file: seg.file }, 'segment does not probe');
      return undefined;
    });
    if (!facts || facts.durationMs <= 0) {
      log.warn({ file: seg.file, durationMs: facts?.durationMs }, 'segment left out of the join: nothing in it');
      return undefined;
    }
    const startedAt = seg.startedAt;
    const endedAt = seg.endedAt ?? (startedAt ? new Date(Date.parse(startedAt) + facts.durationMs).toISOString() : null);
    return { segment: { ...seg, endedAt }, path, durationMs: facts.durationMs };
  }
  log.info({ file: seg.file, recorderId: seg.recorderId }, 'salvaging the segment of a recorder that is gone');
  // the salvage's finalizing copy has its own check (finalizeFile, with keepFreeBytes): kept as written otherwise
  const report = await salvageRecording(
    { id: plan.recordingId, sessionId: plan.sessionId, container: plan.container, audioCodec: plan.audioCodec, fileName: seg.file, startedAt: seg.startedAt },
    { ...settings, verify: false },
    log,
  );
  if (report.status !== 'done' || report.durationMs <= 0) {
    log.warn({ file: seg.file, error: report.error }, 'segment left out of the join: nothing to salvage');
    return undefined;
  }
  const startedAt = seg.startedAt ?? report.startedAt;
  const endedAt = startedAt ? new Date(Date.parse(startedAt) + report.durationMs).toISOString() : report.stoppedAt;
  return { segment: { ...seg, startedAt, endedAt }, path, durationMs: report.durationMs };
}

/**
 * `ffmpeg -c copy` of a file onto itself (through a temporary file); on failure the file stays as it was.
 * The caller checked that the copy fits.
 */
async function rewriteWhole(path: string, settings: SalvageSettings, log: Logger): Promise<void> {
  const dot = path.lastIndexOf('.');
  const temporary = `${path}.rewriting${path.slice(dot)}`;
  const result = await run(
    settings.tools.ffmpeg,
    ['-hide_banner', '-loglevel', 'error', '-y', '-i', path, '-map', '0', '-c', 'copy', temporary],
    JOIN_BUDGET_MS,
  );
  if (result.code === 0) {
    await rename(temporary, path);
    return;
  }
  log.warn({ path, code: result.code, stderr: result.stderr.slice(-500) }, 'segment not rewritten, joined as it is');
  await rm(temporary, { force: true });
}

/**
 * Waits while an intermediate file is still being written to: a draining recorder finishing its segment, or a
 * recorder restarted on a dead one's folder finalizing the segment that one left (its rewrite, `.finalizing.*`,
 * is renamed over the segment's file when done).
 */
async function settle(path: string, log: Logger): Promise<void> {
  const until = Date.now() + SETTLE_WAIT_MS;
  for (;;) {
    const partial = await anyPartial(path);
    const busy = partial && !(await isFile(path)) ? partial : await anyFinalizing(path);
    if (!busy) return;
    const info = await stat(busy).catch(() => undefined);
    if (!info || Date.now() - info.mtimeMs > 3000 || Date.now() > until) return;
    log.debug({ file: busy }, 'segment still being written, waiting');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function anyFinalizing(path: string): Promise<string | undefined> {
  for (const ext of ['.mkv', '.mp4']) {
    if (await isFile(`${path}.finalizing${ext}`)) return `${path}.finalizing${ext}`;
  }
  return undefined;
}

async function anyPartial(path: string): Promise<string | undefined> {
  for (const ext of ['.mkv', '.mp4']) {
    if (await isFile(`${path}.partial${ext}`)) return `${path}.partial${ext}`;
  }
  return undefined;
}

/** A free-space check that could not be made does not stop the join (as in the finalizer): the copy's own failure would. */
function noRoom(check: Promise<string | undefined>): Promise<string | undefined> {
  return check.catch(() => undefined);
}

function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? '' : fileName.slice(dot);
}
