import type { ErrorBody, Recording, StorageKind } from '@recstack/contracts';

/** What the recorders and media instances said in one round of pings, and what this instance knows. */
export interface ReconcileView {
  now: number;
  selfId: string;
  /** recorders that answered, with the recordings they hold (undefined when the pong does not list them) */
  recorders: ReadonlyMap<string, ReadonlySet<string> | undefined>;
  /** recorders that did not answer in the previous round either: only two misses in a row mean gone */
  missedTwice: ReadonlySet<string>;
  /** media instances that answered */
  media: ReadonlySet<string>;
  storage: StorageKind;
  /** an open entry whose recorder and media are gone, not updated for this long, is marked failed */
  graceMs: number;
}

/** The recording's file in this recorder's folder, if it left one. */
export interface LocalFile {
  modifiedMs: number;
}

export type ReconcileAction =
  | { type: 'leave'; why: string }
  /** finalize and report the file a dead recorder left here */
  | { type: 'salvage' }
  /** nobody holds it and nothing is here to salvage */
  | { type: 'fail'; error: ErrorBody }
  /** a finished recording whose file is still here although STORAGE=nats: upload it */
  | { type: 'upload' }
  /** the catalog says the file is in the object store, and a copy is still here */
  | { type: 'discard-local' };

/** A file written less than this long ago may still be open in a live child: it is not touched. */
export const STALE_FILE_MS = 5000;

const LOST_HOLDER = new Set(['RECORDER_UNAVAILABLE', 'MEDIA_UNAVAILABLE']);

/**
 * What to do with one catalog entry, from the liveness of its recorder and media and the file this recorder
 * sees. Pure: the reconciler executes it (claiming the entry first, so two recorders never act on one).
 */
export function decide(entry: Recording, file: LocalFile | undefined, view: ReconcileView): ReconcileAction {
  const gone = holderGone(entry, view);
  if (entry.status === 'done') {
    if (!file || !gone) return { type: 'leave', why: 'finished' };
    if (entry.storage === 'nats') return { type: 'discard-local' };
    if (view.storage === 'nats') return { type: 'upload' };
    return { type: 'leave', why: 'finished, stored locally' };
  }
  if (entry.status === 'failed') {
    const recoverable = entry.error !== undefined && LOST_HOLDER.has(entry.error.code) && entry.durationMs === null;
    if (recoverable && file && gone && stale(file, view)) return { type: 'salvage' };
    return { type: 'leave', why: 'failed' };
  }
  if (!gone) return { type: 'leave', why: 'its recorder holds it' };
  if (file) return stale(file, view) ? { type: 'salvage' } : { type: 'leave', why: 'its file is still being written' };
  const mediaAlive = entry.mediaId !== null && view.media.has(entry.mediaId);
  if (mediaAlive) return { type: 'leave', why: 'its media instance watches its recorder' };
  if (view.now - Date.parse(entry.updatedAt) < view.graceMs) return { type: 'leave', why: 'within the grace period' };
  return {
    type: 'fail',
    error: entry.recorderId
      ? { code: 'RECORDER_UNAVAILABLE', message: `recorder ${entry.recorderId} and media ${entry.mediaId ?? '?'} are gone and no recorder has its file` }
      : { code: 'MEDIA_UNAVAILABLE', message: `media ${entry.mediaId ?? '?'} is gone and the recording never reached a recorder` },
  };
}

/**
 * Whether the recorder named in the entry no longer holds it: it missed two pings in a row, or it answers
 * but does not list the recording (and the entry is older than the grace period, so a recording that just
 * ended on it is not mistaken), or it is this instance by name (a restart with the same RECORDER_ID: the
 * caller only asks about entries this instance does not hold). No recorder yet counts as gone, unless a
 * recorder lists the recording as its own.
 */
export function holderGone(entry: Recording, view: ReconcileView): boolean {
  // whichever recorder says it holds the recording (media may not have written its id yet) holds it
  for (const holds of view.recorders.values()) if (holds?.has(entry.id)) return false;
  const id = entry.recorderId;
  if (id === null || id === view.selfId) return true;
  if (view.recorders.has(id)) {
    const holds = view.recorders.get(id);
    return holds !== undefined && !holds.has(entry.id) && view.now - Date.parse(entry.updatedAt) >= view.graceMs;
  }
  return view.missedTwice.has(id);
}

function stale(file: LocalFile, view: ReconcileView): boolean {
  return view.now - file.modifiedMs >= STALE_FILE_MS;
}

/**
 * What a recorder starting on a folder does with one recording a dead predecessor (or its own earlier process,
 * with the same RECORDER_ID) left there: its orphaned children are being stopped, their files are here.
 * - `lost`: the recording is running and its recorder died while recording it (the child of its running
 *   segment is orphaned here, or the entry names this recorder's id, which holds nothing yet): media, which
 *   still feeds it, is told at once so it hands the recording over; the file becomes a segment.
 * - `segments`: files of the recording finalized as segments (never reported: the recording goes on).
 * - `finish`: the recording is over or being stopped, or no media feeds it any more: salvaged and reported
 *   as before (`done`, reason `error`).
 */
export interface RestartDecision {
  /** the recorder that lost the recording and the segment file it was writing, to tell media */
  lost?: { recorderId: string; file: string };
  segments: string[];
  finish: boolean;
}

/**
 * Whether an open entry naming this recorder's id is what a predecessor with the same id left (a restart with
 * the same RECORDER_ID whose children died too), not a recording placed on this process since it began to
 * serve starts: its adoption reads the catalog after that, and taking a new placement for a leftover would
 * salvage it under the start that is on its way (which then fails with CONFLICT). Only a configured id can name
 * anything older than this process (`sameIdSince` undefined for a generated one), and only an entry last
 * changed before the process started. The clocks of the writer and this recorder are assumed to agree within
 * the restart's time; an entry missed here is left to the periodic round (salvage or failed).
 */
export function leftBySameId(entry: Recording, selfId: string, sameIdSince: number | undefined): boolean {
  if (entry.recorderId !== selfId || sameIdSince === undefined) return false;
  return Date.parse(entry.updatedAt) < sameIdSince;
}

/** The running segment of an open recording: the last segment's file, or its own before any handover. */
export function currentFile(entry: Recording): string {
  return entry.segments?.at(-1)?.file ?? entry.fileName;
}

/**
 * `orphanFiles`: the files of this recording that orphaned children were writing; `mediaAlive`: its media
 * instance answers; `held`: this process already holds it (a start that reached it first). Pure.
 */
export function onRestart(entry: Recording, orphanFiles: ReadonlySet<string>, selfId: string, mediaAlive: boolean, held: boolean): RestartDecision {
  const running = entry.status === 'starting' || entry.status === 'recording';
  // a start already reached this process: media moved the recording here (the entry read may predate it)
  if (running && held) return { segments: [...orphanFiles], finish: false };
  const current = currentFile(entry);
  const closed = [...orphanFiles].filter((f) => f !== current);
  if (!running) return { segments: closed, finish: orphanFiles.has(current) && !(isFinished(entry) && entry.durationMs !== null) };
  const recorderDied = orphanFiles.has(current) || entry.recorderId === selfId;
  if (!recorderDied || entry.recorderId === null) return { segments: [...orphanFiles], finish: false };
  // nobody feeds it any more: the file is all there is, salvaged and reported as before
  if (!mediaAlive) return { segments: closed, finish: true };
  return { lost: { recorderId: entry.recorderId, file: current }, segments: [...closed, current], finish: false };
}

function isFinished(entry: Recording): boolean {
  return entry.status === 'done' || entry.status === 'failed';
}
