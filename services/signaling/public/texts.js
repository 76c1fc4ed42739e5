// @ts-check
// The words and figures the page shows: errors a person can act on, durations, sizes, a recording's tracks
// and the warnings its checks and stats call for. No DOM, no state.

import { ApiError, UnreachableError } from './api.js';

/** @typedef {import('../src/recordings/recording-view.js').RecordingView} RecordingView */
/** @typedef {import('@recstack/contracts').RecordingStatus} RecordingStatus */
/** @typedef {import('@recstack/contracts').StopReason} StopReason */

/**
 * Words a person can act on, for the codes the API answers with.
 * @param {unknown} err
 */
export function describeError(err) {
  if (err instanceof UnreachableError) return `Cannot reach the server at ${location.host}. Check that it is running, then try again.`;
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'ALREADY_RECORDING':
        return 'This camera is already being recorded.';
      case 'MEDIA_UNAVAILABLE':
        return 'The media server is not available right now. Try again in a moment.';
      case 'RECORDER_UNAVAILABLE':
        return 'No recorder is available right now. Try again in a moment.';
      case 'AT_CAPACITY':
      case 'NO_FREE_PORTS':
      case 'PORT_IN_USE':
        return 'The server is busy with other recordings. Try again in a minute.';
      case 'INSUFFICIENT_STORAGE':
        return 'The server has no disk space left for another recording. Delete old recordings or ask the operator for room.';
      case 'RATE_LIMITED':
        return 'Too many requests in a short time. Wait a few seconds and try again.';
      case 'TIMEOUT':
        return 'The server took too long to answer. Try again.';
      case 'UNSUPPORTED_FORMAT':
      case 'UNSUPPORTED_CODEC':
        return `${err.message}. Choose another codec.`;
      case 'NO_SUCH_SESSION':
        return 'The connection to the server ended. Press Record to start again.';
      case 'SHUTTING_DOWN':
        return 'The server is restarting. Try again in a moment.';
      default:
        return `Something went wrong: ${err.message}`;
    }
  }
  if (errorName(err) === 'NotAllowedError') return cameraDeniedText();
  return `Something went wrong: ${errorMessage(err)}`;
}

/**
 * Why the server ended a recording nobody stopped, in words.
 * @param {StopReason | null | undefined} stopReason
 */
export function endedByServerText(stopReason) {
  switch (stopReason) {
    case 'disk-full':
      return 'The server ran low on disk space, so it ended the recording and saved it.';
    case 'max-size':
      return 'The recording reached the largest file size the server allows; it was ended and saved.';
    case 'max-duration':
      return 'The recording reached the longest duration the server allows; it was ended and saved.';
    default:
      return 'The recording was ended by the server and saved.';
  }
}

export function cameraDeniedText() {
  return 'Camera and microphone access was blocked. Allow access for this site in your browser (the camera icon in the address bar), then reload the page.';
}

/** @param {unknown} err */
export function cameraErrorText(err) {
  switch (errorName(err)) {
    case 'NotAllowedError':
    case 'SecurityError':
      return cameraDeniedText();
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Connect one and reload the page.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another application. Close it and reload the page.';
    default:
      return `The camera could not be started: ${errorMessage(err)}`;
  }
}

/** @param {unknown} err */
export function errorName(err) {
  return err && typeof err === 'object' && 'name' in err ? String(err.name) : undefined;
}

/** @param {unknown} err */
function errorMessage(err) {
  return err && typeof err === 'object' && 'message' in err && typeof err.message === 'string' && err.message ? err.message : String(err);
}

/** @param {number} ms */
export function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** @param {number | null | undefined} bytes */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** @type {Record<string, string>} */
const CODEC_NAMES = { h264: 'H.264', vp8: 'VP8', vp9: 'VP9', av1: 'AV1', aac: 'AAC', opus: 'Opus' };

/** @param {RecordingView} recording */
export function describeTracks(recording) {
  if (recording.tracks.length === 0) return '';
  return recording.tracks
    .map((t) => {
      const name = CODEC_NAMES[t.codec] ?? t.codec.toUpperCase();
      return t.kind === 'video' && t.width && t.height ? `${name} ${t.width}×${t.height}` : name;
    })
    .join(' · ');
}

/**
 * What the server's decode of a finished file found, when a person should know before playing it. A `done`
 * recording's fileCheck is null until the recorder's background verification has decoded it (and stays
 * null with RECORDER_VERIFY=off): nothing to warn about then; the catalog update brings the result.
 * @param {RecordingView} recording
 */
export function fileCheckNotice(recording) {
  const check = recording.status === 'done' ? recording.fileCheck : null;
  if (!check) return null;
  if (!check.decodesCleanly && check.scope !== 'none') return 'Some frames could not be decoded (data was lost while recording): expect glitches.';
  return null;
}

/** a video that stood still this long lost frames (Chromium sends 20-30 per second, lower only under strain) */
const FROZEN_MS = 1000;

/**
 * What the recording's stats say a person should know: packets lost on the way beyond what retransmissions
 * brought back (frames were damaged or dropped), or a stretch of the file without frames.
 * @param {RecordingView} recording
 */
export function lossNotice(recording) {
  const stats = recording.status === 'done' ? recording.stats : null;
  if (!stats) return null;
  const unrepaired = (stats.packetsLost ?? 0) - (stats.packetsRetransmitted ?? 0);
  if (unrepaired > 0)
    return `${stats.packetsLost} packets were lost on the way (${stats.packetsRetransmitted ?? 0} retransmitted): some frames may be damaged or missing.`;
  const hasVideo = recording.tracks.some((t) => t.kind === 'video');
  if (hasVideo && (stats.longestGapMs ?? 0) >= FROZEN_MS) return `The video has a gap of ${((stats.longestGapMs ?? 0) / 1000).toFixed(1)} s without frames.`;
  return null;
}

/** @type {Record<RecordingStatus, string>} */
export const STATE_TEXT = { starting: 'Starting', recording: 'Recording', stopping: 'Saving', done: 'Ready', failed: 'Failed' };
