import type { ErrorBody, Recording, RecordingReport, StopReason } from '@recstack/contracts';

/**
 * Pure changes to a recording, one per event in its life. Each returns the updated recording, or the
 * same object when the event no longer applies (for instance a first keyframe reported after a stop).
 */

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
    recorderId: report.recorderId,
    stopReason: rec.stopReason ?? report.reason,
    updatedAt: at.toISOString(),
  };
  if (report.error) next.error = report.error;
  else delete next.error;
  return next;
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
