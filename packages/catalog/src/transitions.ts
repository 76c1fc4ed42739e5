import {
  EMPTY_RECORDING_STATS,
  fileExtension,
  type Container,
  type ErrorBody,
  type FileCheck,
  type FileStats,
  type IngestStats,
  type OutputAudioCodec,
  type Recording,
  type RecordingReport,
  type RecordingStats,
  type Segment,
  type StopReason,
} from '@recstack/contracts';

/**
 * Pure changes to a recording, one per event in its life. Each returns the updated recording, or the
 * same object when the event no longer applies (for instance a first keyframe reported after a stop).
 * Which service applies which change is in docs/architecture.md ("Who writes what"): one writer per change.
 */

export interface NewRecordingInput {
  id: string;
  sessionId: string;
  /** the media instance holding the publisher's session (null when it is not known yet) */
  mediaId: string | null;
  container: Container;
  audioCodec: OutputAudioCodec | null;
  at: Date;
}

/** The entry of a recording just asked for (`starting`): nothing recorded yet, the file named after the id. */
export function newRecording(input: NewRecordingInput): Recording {
  const now = input.at.toISOString();
  return {
    id: input.id,
    sessionId: input.sessionId,
    status: 'starting',
    createdAt: now,
    startedAt: null,
    stoppedAt: null,
    updatedAt: now,
    durationMs: null,
    sizeBytes: null,
    container: input.container,
    audioCodec: input.audioCodec,
    tracks: [],
    fileName: `${input.id}${fileExtension(input.container)}`,
    storage: 'local',
    mediaId: input.mediaId,
    recorderId: null,
    firstKeyframeMs: null,
    stopReason: null,
    fileCheck: null,
  };
}

/**
 * A recorder listens for the recording: the entry names it. (`mediaId` is the session's, set at creation.) A
 * finished entry is left alone (its start was given up on: the caller sees the status and lets go).
 */
export function markPlaced(rec: Recording, recorderId: string, at: Date): Recording {
  if (isClosed(rec) || rec.recorderId === recorderId) return rec;
  return { ...rec, recorderId, updatedAt: at.toISOString() };
}

export function markFirstKeyframe(rec: Recording, at: Date): Recording {
  if (rec.startedAt !== null || (rec.status !== 'starting' && rec.status !== 'stopping')) return rec;
  return {
    ...rec,
    status: rec.status === 'starting' ? 'recording' : rec.status,
    startedAt: at.toISOString(),
    firstKeyframeMs: Math.max(0, Math.round(at.getTime() - Date.parse(rec.createdAt))),
    updatedAt: at.toISOString(),
  };
}

export function markStopping(rec: Recording, reason: StopReason, at: Date): Recording {
  if (rec.status !== 'starting' && rec.status !== 'recording') return rec;
  return { ...rec, status: 'stopping', stopReason: rec.stopReason ?? reason, updatedAt: at.toISOString() };
}

/**
 * The recorder's final report. It does not move `recorderId`: media names the recorder when it places or hands
 * over the recording, and a recovering recorder claims the entry before it salvages (claimRecording).
 */
export function applyReport(rec: Recording, report: RecordingReport, at: Date): Recording {
  if (rec.status === 'done' || rec.status === 'failed') return rec;
  const next: Recording = {
    ...rec,
    status: report.status,
    startedAt: rec.startedAt ?? report.startedAt,
    stoppedAt: report.stoppedAt,
    durationMs: report.durationMs,
    sizeBytes: report.sizeBytes,
    tracks: report.tracks,
    fileName: report.fileName,
    stopReason: rec.stopReason ?? report.reason,
    // a report says where the file ended up (the object store after a verified upload); older ones do not
    storage: report.storage ?? rec.storage,
    fileCheck: fileCheckOf(report),
    ...withFileStats(rec, report.stats),
    updatedAt: at.toISOString(),
  };
  if (report.segments) next.segments = report.segments;
  if (report.gaps) next.gaps = report.gaps;
  if (report.error) next.error = report.error;
  else delete next.error;
  return next;
}

/** The recorder's file counts join whatever media already wrote; a report without them changes nothing. */
function withFileStats(rec: Recording, file: FileStats | undefined): { stats?: RecordingStats } {
  if (!file) return rec.stats ? { stats: rec.stats } : {};
  return { stats: { ...(rec.stats ?? EMPTY_RECORDING_STATS), ...file } };
}

/**
 * Media's ingest counts for the recording (written when it stops, whatever the status by then: the recorder
 * may have written `done` first). Only the ingest fields change, so the two writers never undo each other.
 */
export function applyIngestStats(rec: Recording, ingest: IngestStats, at: Date): Recording {
  const current = rec.stats ?? EMPTY_RECORDING_STATS;
  const next: RecordingStats = { ...current, ...ingest };
  if (JSON.stringify(next) === JSON.stringify(current) && rec.stats) return rec;
  return { ...rec, stats: next, updatedAt: at.toISOString() };
}

/**
 * A handover: the recording goes on on another recorder. The running segment (the first one is made up
 * from the entry itself) is closed with `endedAt` when known (a drain) or left open (a dead recorder: its
 * salvage tells), and the next one opens; `recorderId` names the recorder that now holds the recording.
 */
export function addSegment(rec: Recording, closing: Segment, next: Segment, at: Date): Recording {
  if (rec.status === 'done' || rec.status === 'failed') return rec;
  const earlier = (rec.segments ?? []).slice(0, -1);
  return { ...rec, segments: [...earlier, closing, next], recorderId: next.recorderId, updatedAt: at.toISOString() };
}

/** The decode check of a playable file; a failed file has none worth showing, a pending one none yet. */
function fileCheckOf(report: RecordingReport): FileCheck | null {
  if (report.status !== 'done' || report.decodeCheck === 'pending') return null;
  // recorders older than `decodeCheck` always decoded the whole file
  return { decodesCleanly: report.decodesCleanly, scope: report.decodeCheck ?? (report.decodesCleanly ? 'full' : 'none') };
}

/** The background verification of a `done` file finished: its result becomes the entry's fileCheck. */
export function applyFileCheck(rec: Recording, check: FileCheck, at: Date): Recording {
  if (rec.status !== 'done') return rec;
  return { ...rec, fileCheck: check, updatedAt: at.toISOString() };
}

/** Failures that say "whoever held the recording is gone", not "the file is bad": a salvage may still find it. */
const LOST_HOLDER = new Set(['RECORDER_UNAVAILABLE', 'MEDIA_UNAVAILABLE']);

/**
 * The report of a recording salvaged after its recorder died (a restarted recorder finalized what the dead
 * one left). An entry still open takes it like any report. An entry already marked failed because its
 * recorder or media vanished stays failed (status never moves backwards, and webhooks have fired), but gets
 * the recovered file's facts and a message saying the file was recovered, so the user can still play it.
 */
export function applySalvageReport(rec: Recording, report: RecordingReport, at: Date): Recording {
  if (!isClosed(rec)) return applyReport(rec, report, at);
  if (rec.status !== 'failed' || !rec.error || !LOST_HOLDER.has(rec.error.code)) return rec;
  if (report.status !== 'done' || rec.durationMs !== null) return rec;
  return {
    ...rec,
    startedAt: rec.startedAt ?? report.startedAt,
    stoppedAt: rec.stoppedAt ?? report.stoppedAt,
    durationMs: report.durationMs,
    sizeBytes: report.sizeBytes,
    tracks: report.tracks,
    fileName: report.fileName,
    storage: report.storage ?? rec.storage,
    fileCheck: fileCheckOf(report),
    ...withFileStats(rec, report.stats),
    error: { code: rec.error.code, message: `${rec.error.message}; the file was recovered up to that moment (${Math.round(report.durationMs / 1000)} s)` },
    updatedAt: at.toISOString(),
  };
}

/**
 * A recorder takes over a recording whose recorder is gone (to salvage its file or finish its upload). The
 * catalog's compare-and-set makes this a claim: of two recorders that try at once, one sees the other's id
 * and leaves the recording alone. Nothing else changes.
 */
export function claimRecording(rec: Recording, expectedRecorderId: string | null, recorderId: string, at: Date): Recording {
  if (rec.recorderId === recorderId || rec.recorderId !== expectedRecorderId) return rec;
  return { ...rec, recorderId, updatedAt: at.toISOString() };
}

/** The file of a finished recording moved (a pending upload completed): the entry points at its new place. */
export function markStored(rec: Recording, fileName: string, storage: Recording['storage'], at: Date): Recording {
  if (!isClosed(rec) || rec.fileName !== fileName || rec.storage === storage) return rec;
  return { ...rec, storage, updatedAt: at.toISOString() };
}

function isClosed(rec: Recording): boolean {
  return rec.status === 'done' || rec.status === 'failed';
}

export function markFailed(rec: Recording, error: ErrorBody, at: Date): Recording {
  if (rec.status === 'done' || rec.status === 'failed') return rec;
  return {
    ...rec,
    status: 'failed',
    stoppedAt: rec.stoppedAt ?? at.toISOString(),
    stopReason: rec.stopReason ?? 'error',
    error,
    updatedAt: at.toISOString(),
  };
}
