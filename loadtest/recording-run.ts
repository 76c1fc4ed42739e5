import { RecordingSchema, type Recording } from '@recstack/contracts';
import type { PublisherStats, StackClient } from '@recstack/testkit';
import { fileProblems } from './file-verdict.js';
import { declaredGapMs } from './chaos-plan.js';
import type { RecordingOutcome } from './objectives.js';

/** One recording of the run as the harness saw it. Times are Date.now() milliseconds. */
export interface RecordingResult extends RecordingOutcome {
  publisher: number;
  step: number;
  recordingId: string | undefined;
  recorderId: string | undefined;
  startAskedAt: number;
  stopAskedAt: number | undefined;
  /** the file's own duration (catalog) */
  durationMs: number | undefined;
  sizeBytes: number | undefined;
  /** what the file should last: stop asked − (start asked + first keyframe) */
  expectedSec: number | undefined;
  /** video RTP during the recording: sent, reported lost by media, retransmitted on NACK (replay only) */
  rtp: { sent: number; lost: number; nacks: number; retransmitted: number } | undefined;
  /** why the recording ended, as the catalog says (`requested` when the harness stopped it) */
  stopReason: string | undefined;
  /** how many recorders it ran on (its catalog `segments`; undefined: one, it never moved) */
  segments: number | undefined;
  /** the gaps its joined file declares (catalog `gaps`): media the handovers lost */
  gaps: Array<{ atMs: number; ms: number }> | undefined;
  /** when it moved to another recorder the first time (its second segment's first keyframe, Date.now ms) */
  handoverAt: number | undefined;
  error: string | undefined;
}

export class StartRefusedError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** POST …/recordings, telling a refusal (503 AT_CAPACITY: the stack protects itself) from a failure. */
export async function startRecording(client: StackClient, token: string | undefined, sessionId: string, audioCodec?: 'aac' | 'opus'): Promise<Recording> {
  const res = await fetch(`${client.baseUrl}/api/sessions/${sessionId}/recordings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(audioCodec ? { audioCodec } : {}),
  });
  const text = await res.text();
  if (res.status === 201) return RecordingSchema.parse(JSON.parse(text));
  let code = `HTTP_${res.status}`;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? code;
  } catch {
    // not JSON
  }
  throw new StartRefusedError(res.status, code, `starting a recording of ${sessionId} answered ${res.status}: ${text.slice(0, 200)}`);
}

export const isRefused = (err: unknown) => err instanceof StartRefusedError && (err.status === 503 || err.code === 'AT_CAPACITY');

export function newResult(publisher: number, step: number): RecordingResult {
  return {
    publisher,
    step,
    recordingId: undefined,
    recorderId: undefined,
    status: 'error',
    startAskedAt: Date.now(),
    stopAskedAt: undefined,
    firstKeyframeMs: undefined,
    stopMs: undefined,
    durationMs: undefined,
    sizeBytes: undefined,
    expectedSec: undefined,
    problems: [],
    rtp: undefined,
    stopReason: undefined,
    segments: undefined,
    gaps: undefined,
    handoverAt: undefined,
    error: undefined,
  };
}

/** Starts, waits for `recording` (or an end), and returns the live recording; fills `result` as it goes. */
export async function beginRecording(
  client: StackClient,
  token: string | undefined,
  sessionId: string,
  result: RecordingResult,
  audioCodec?: 'aac' | 'opus',
): Promise<Recording | undefined> {
  result.startAskedAt = Date.now();
  try {
    const started = await startRecording(client, token, sessionId, audioCodec);
    result.recordingId = started.id;
    const live = await client.waitForStatus(started.id, ['recording', 'done', 'failed'], 30_000);
    result.firstKeyframeMs = live.firstKeyframeMs ?? undefined;
    if (live.status !== 'recording') {
      result.status = live.status === 'failed' ? 'failed' : 'error';
      result.error = `ended ${live.status} before it was stopped: ${live.error ? `${live.error.code} ${live.error.message}` : 'no error given'}`;
      return undefined;
    }
    return live;
  } catch (err) {
    if (isRefused(err)) result.status = 'refused';
    result.error = (err as Error).message.split('\n')[0] ?? String(err);
    return undefined;
  }
}

/** Stops a live recording; `result` gets the stop time and the catalog's figures. */
export async function endRecording(client: StackClient, live: Recording, result: RecordingResult): Promise<Recording | undefined> {
  result.stopAskedAt = Date.now();
  try {
    const done = await client.stop(live.id);
    result.stopMs = Date.now() - result.stopAskedAt;
    result.recorderId = done.recorderId ?? undefined;
    result.durationMs = done.durationMs ?? undefined;
    result.sizeBytes = done.sizeBytes ?? undefined;
    result.stopReason = done.stopReason ?? undefined;
    result.segments = done.segments?.length;
    result.gaps = done.gaps;
    const next = done.segments?.[1]?.startedAt;
    result.handoverAt = next ? Date.parse(next) : undefined;
    if (result.firstKeyframeMs === undefined && done.firstKeyframeMs !== null) result.firstKeyframeMs = done.firstKeyframeMs;
    result.expectedSec = result.firstKeyframeMs === undefined ? undefined : (result.stopAskedAt - (result.startAskedAt + result.firstKeyframeMs)) / 1000;
    result.status = done.status === 'done' ? 'done' : done.status === 'failed' ? 'failed' : 'error';
    if (done.status !== 'done') result.error = `ended ${done.status}: ${done.error ? `${done.error.code} ${done.error.message}` : 'no error given'}`;
    return done;
  } catch (err) {
    result.error = (err as Error).message.split('\n')[0] ?? String(err);
    // the stop call broke (chaos): the catalog may still say how it ended
    const now = await client.recording(live.id).catch(() => undefined);
    if (now?.status === 'failed') result.status = 'failed';
    return undefined;
  }
}

/** Downloads a `done` file and checks it like a user would; the problems go into `result`. */
export async function checkFile(client: StackClient, done: Recording, result: RecordingResult, dir: string, toleranceSec: number): Promise<void> {
  try {
    const path = await client.download(done, dir);
    result.problems.push(
      ...(await fileProblems(path, {
        video: done.tracks.find((t) => t.kind === 'video')?.codec,
        audio: done.tracks.find((t) => t.kind === 'audio')?.codec,
        // a handed-over recording's file lacks its declared gaps: shorter by them is what it should be
        durationSec: result.expectedSec === undefined ? (result.durationMs ?? 0) / 1000 : result.expectedSec - declaredGapMs(result.gaps) / 1000,
        toleranceSec,
      })),
    );
  } catch (err) {
    result.problems.push(`download: ${(err as Error).message.split('\n')[0] ?? String(err)}`);
  }
}

export function rtpBetween(before: PublisherStats | undefined, after: PublisherStats | undefined): RecordingResult['rtp'] {
  if (!before || !after) return undefined;
  return {
    sent: after.videoPackets - before.videoPackets,
    lost: after.remoteLost - before.remoteLost,
    nacks: after.nacks - before.nacks,
    retransmitted: after.retransmitted - before.retransmitted,
  };
}
