import {
  VideoCodecSchema,
  AudioCodecSchema,
  isTerminal,
  resolveOutputFormat,
  type Container,
  type ErrorBody,
  type OutputAudioCodec,
  type PublisherSession,
  type Recording,
  type RecordingReport,
  type StopReason,
} from '@recstack/contracts';
import { markFailed, markStopping, newRecording, type RecordingCatalog } from '@recstack/catalog';
import { RemoteError, ServiceError, TimeoutError, newId, type Logger } from '@recstack/service-kit';
import type { MediaClient } from '../backends/media-client.js';
import type { RecorderClient } from '../backends/recorder-client.js';
import type { SessionDirectory } from '../backends/session-directory.js';
import { AlreadyRecordingError, NoSuchRecordingError, NoSuchSessionError, RecordingDeletedError, UnsupportedCodecError, UnsupportedFormatError } from '../errors.js';
import { toHttpError } from '../http/http-error.js';
import type { SignalingMetrics } from '../metrics.js';
import type { CatalogFeed } from './catalog-feed.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { RecordingFiles } from './recording-files.js';

export interface StartOptions {
  container?: Container | undefined;
  audioCodec?: OutputAudioCodec | undefined;
}

export interface RecordingControlDeps {
  catalog: RecordingCatalog;
  feed: CatalogFeed;
  sessions: SessionDirectory;
  media: MediaClient;
  recorders: RecorderClient;
  files: RecordingFiles;
  metrics: SignalingMetrics;
  logger: Logger;
  /** how long a stop waits for a stop someone else started (another signaling instance, a closing session) */
  stopWaitMs: number;
}

/**
 * How long a catalog read (a list, a get) may take before the feed's mirror answers instead. Listing needs a
 * JetStream consumer, which a NATS cluster that just lost a server (its meta leader) cannot create until a
 * new one is elected (4-9 s), and a get waits for the stream's leader; the mirror is the same catalog as of
 * its last change seen.
 */
const CATALOG_WAIT_MS = 2000;

/** Remote codes that mean "that media instance does not hold this recording (any more)". */
const MEDIA_LOST = new Set(['NO_SUCH_RECORDING', 'NO_SUCH_SESSION', 'MEDIA_UNAVAILABLE']);

/**
 * Starts, stops and deletes recordings: the orchestration behind the REST API. The catalog is the
 * truth; media (and, when media is gone, the recorder) does the work.
 */
export class RecordingControl {
  private readonly sessionLocks = new KeyedMutex();
  private readonly stops = new Map<string, Promise<Recording>>();

  constructor(private readonly deps: RecordingControlDeps) {}

  async start(sessionId: string, options: StartOptions): Promise<Recording> {
    try {
      const recording = await this.sessionLocks.run(sessionId, () => this.startLocked(sessionId, options));
      this.deps.metrics.recordingsStarted.inc({ result: 'ok' });
      return recording;
    } catch (err) {
      this.deps.metrics.recordingsStarted.inc({ result: err instanceof ServiceError ? err.code : 'INTERNAL' });
      throw err;
    }
  }

  private async startLocked(sessionId: string, options: StartOptions): Promise<Recording> {
    const { catalog, feed, sessions, media } = this.deps;
    const session = await sessions.get(sessionId);
    if (!session) throw new NoSuchSessionError();
    const active = feed.activeForSession(sessionId);
    if (active) throw new AlreadyRecordingError(active.id);
    const format = resolveFormat(session, options);

    const id = newId('rec');
    const log = this.deps.logger.child({ sessionId, recordingId: id, mediaId: session.mediaId });
    await catalog.create(newRecording({ id, sessionId, mediaId: session.mediaId, container: format.container, audioCodec: format.audioCodec ?? null, at: new Date() }));
    log.info({ container: format.container, audioCodec: format.audioCodec }, 'recording requested');
    // the next start of this session (queued on the lock) must find this entry in the feed
    await feed.waitFor(id, (r) => r !== undefined, 2000);
    try {
      const reply = await media.startRecording(session.mediaId, {
        sessionId,
        recordingId: id,
        container: format.container,
        ...(format.audioCodec ? { audioCodec: format.audioCodec } : {}),
      });
      // media named the recorder in the entry (markPlaced) before it answered
      const stored = await catalog.get(id);
      log.info({ recorderId: reply.recorderId }, 'recording started');
      if (!stored) throw new RecordingDeletedError();
      return stored;
    } catch (err) {
      await this.undoStart(id, session, err, log);
      throw err;
    }
  }

  /** A start that failed leaves no running entry behind: removed when media refused it, failed otherwise. */
  private async undoStart(id: string, session: PublisherSession, err: unknown, log: Logger): Promise<void> {
    try {
      if (err instanceof RemoteError && err.code === 'ALREADY_RECORDING') {
        await this.deps.catalog.remove(id);
        throw new AlreadyRecordingError(undefined);
      }
      await this.deps.catalog.update(id, (r) => markFailed(r, clientSafe(err), new Date()));
      if (err instanceof TimeoutError) {
        // media may still start it after we gave up: ask it to stop, so nothing records unseen
        this.deps.media.stopRecording(session.mediaId, { sessionId: session.sessionId, recordingId: id, reason: 'error' }).catch(() => undefined);
      }
      log.warn({ err }, 'recording start failed');
    } catch (cleanup) {
      if (cleanup instanceof AlreadyRecordingError) throw cleanup;
      log.error({ err: cleanup }, 'cleaning up a failed start failed');
    }
  }

  /**
   * Stops a recording and resolves with its final catalog entry once the file is finalized. Stopping a
   * finished recording returns it unchanged; concurrent stops of one recording share one request.
   */
  stop(id: string, reason: StopReason = 'requested'): Promise<Recording> {
    const running = this.stops.get(id);
    if (running) return running;
    const stopping = this.stopOnce(id, reason).finally(() => this.stops.delete(id));
    this.stops.set(id, stopping);
    return stopping;
  }

  private async stopOnce(id: string, reason: StopReason): Promise<Recording> {
    const { catalog, metrics, feed } = this.deps;
    const first = await catalog.get(id);
    if (!first) throw new NoSuchRecordingError();
    if (isTerminal(first.status)) return first;
    // a start of this session still in flight finishes first, so media knows the recording we stop
    await this.sessionLocks.run(first.sessionId, async () => undefined);
    const current = await catalog.get(id);
    if (!current) throw new NoSuchRecordingError();
    if (isTerminal(current.status)) return current;
    const log = this.deps.logger.child({ sessionId: current.sessionId, recordingId: id });
    const started = performance.now();
    // a recording already `stopping` (its session closed, another instance stopped it) is asked again:
    // media answers a repeated stop with the report once the file is finalized
    await catalog.update(id, (r) => markStopping(r, reason, new Date()));
    log.info({ reason }, 'recording stop requested');
    const settled = new AbortController();
    try {
      // the recorder wrote its report to the catalog before answering: the entry has it
      const asked = this.finalize(current, reason, log).then(() => catalog.get(id));
      asked.catch(() => undefined);
      // whoever finalizes it (media, the recorder on its own), the catalog may show the end first
      const seen = feed.waitFor(id, (r) => r === undefined || isTerminal(r.status), this.deps.stopWaitMs + 1000, settled.signal);
      const final = await Promise.race([asked, seen.then((r) => (r && isTerminal(r.status) ? r : asked))]);
      if (!final) throw new NoSuchRecordingError();
      metrics.recordingsStopped.inc({ result: final.status });
      metrics.stopToFinalized.observe((performance.now() - started) / 1000);
      log.info({ status: final.status, durationMs: final.durationMs, sizeBytes: final.sizeBytes }, 'recording stopped');
      return final;
    } catch (err) {
      metrics.recordingsStopped.inc({ result: err instanceof ServiceError ? err.code : 'INTERNAL' });
      const ended = await this.endedAnyway(id, err, log);
      if (ended) return ended;
      throw err;
    } finally {
      settled.abort();
    }
  }

  /**
   * After a failed stop: the recording that media says ended with an error (its reply is an error
   * naming why) is finished, as failed; a timeout or an unreachable media says nothing, and the entry
   * is left for whoever finalizes it.
   */
  private async endedAnyway(id: string, err: unknown, log: Logger): Promise<Recording | undefined> {
    const { catalog, feed } = this.deps;
    const now = await catalog.get(id).catch(() => undefined);
    if (!now || isTerminal(now.status)) return now;
    if (!(err instanceof RemoteError) || MEDIA_LOST.has(err.code)) return undefined;
    // media marks it failed itself; give that write a moment before writing the same ourselves
    const marked = await feed.waitFor(id, (r) => r === undefined || isTerminal(r.status), 2000);
    if (marked && isTerminal(marked.status)) return marked;
    log.warn({ code: err.code }, 'recording ended with an error, marking it failed');
    return catalog.update(id, (r) => markFailed(r, clientSafe(err), new Date()));
  }

  /**
   * Asks media to stop; when that media instance is gone, asks the recorder directly. Returns the
   * report, or undefined after marking the recording failed because nobody holds it any more: the one
   * catalog write signaling makes for another service (docs/architecture.md, "the single exception"),
   * since there is no owner left to route it through and the user waits for the answer now.
   */
  private async finalize(recording: Recording, reason: StopReason, log: Logger): Promise<RecordingReport | undefined> {
    const { media, recorders, catalog } = this.deps;
    if (recording.mediaId) {
      try {
        return await media.stopRecording(recording.mediaId, { sessionId: recording.sessionId, recordingId: recording.id, reason });
      } catch (err) {
        if (!(err instanceof ServiceError) || !MEDIA_LOST.has(err.code)) throw err;
        log.warn({ code: err.code }, 'media does not hold the recording, asking the recorder');
      }
    }
    // the recorder id may have been written after we first read the entry
    const recorderId = (await catalog.get(recording.id))?.recorderId ?? recording.recorderId;
    if (recorderId) {
      try {
        return await recorders.stop(recorderId, { recordingId: recording.id, reason });
      } catch (err) {
        if (!(err instanceof ServiceError) || !['NO_SUCH_RECORDING', 'RECORDER_UNAVAILABLE'].includes(err.code)) throw err;
        log.warn({ code: err.code, recorderId }, 'the recorder does not hold the recording either');
        await catalog.update(recording.id, (r) => markFailed(r, { code: 'RECORDER_UNAVAILABLE', message: 'the recorder of this recording is gone' }, new Date()));
        return undefined;
      }
    }
    await catalog.update(recording.id, (r) => markFailed(r, { code: 'MEDIA_UNAVAILABLE', message: 'the media server of this recording is gone' }, new Date()));
    return undefined;
  }

  /** Every recording, newest first: from the catalog, or from the feed's mirror when the catalog cannot list now. */
  list(): Promise<Recording[]> {
    return this.orMirror(this.deps.catalog.list(), () => this.deps.feed.list(), 'list');
  }

  /**
   * One recording: from the catalog, or from the feed's mirror when the catalog cannot answer now (a NATS
   * server lost, JetStream electing a leader); a recording the mirror does not know either keeps the error.
   */
  get(id: string): Promise<Recording | undefined> {
    return this.orMirror(this.deps.catalog.get(id), () => this.deps.feed.get(id), 'get');
  }

  /** A catalog read, or what the mirror holds when it fails or takes longer than CATALOG_WAIT_MS. */
  private async orMirror<T>(read: Promise<T>, mirror: () => T | undefined, what: 'list' | 'get'): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`the catalog did not answer a ${what} within ${CATALOG_WAIT_MS} ms`)), CATALOG_WAIT_MS);
    });
    try {
      return await Promise.race([read, late]);
    } catch (err) {
      // the read may still fail after the race is decided: nobody waits for it then
      read.catch(() => undefined);
      const held = mirror();
      if (held === undefined) throw err;
      this.deps.logger.warn({ err, read: what }, 'catalog read failed, answering from the mirror');
      return held;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the recording if it still runs, then removes its file and its catalog entry. */
  async remove(id: string): Promise<void> {
    const recording = await this.deps.catalog.get(id);
    if (!recording) throw new NoSuchRecordingError();
    const final = isTerminal(recording.status) ? recording : await this.stop(id, 'deleted');
    const removedFile = await this.deps.files.remove(final);
    await this.deps.catalog.remove(id);
    this.deps.logger.info({ sessionId: final.sessionId, recordingId: id, removedFile }, 'recording deleted');
  }

  /**
   * Finalizes a session's running recording when its media instance cannot (it is gone). Used by
   * DELETE /whip when media does not answer.
   */
  async stopActiveOfSession(sessionId: string, reason: StopReason): Promise<void> {
    const active = this.deps.feed.activeForSession(sessionId);
    if (active) await this.stop(active.id, reason);
  }
}

function resolveFormat(session: PublisherSession, options: StartOptions): { container: Container; audioCodec: OutputAudioCodec | undefined } {
  const videoTrack = session.tracks.find((t) => t.kind === 'video');
  const audioTrack = session.tracks.find((t) => t.kind === 'audio');
  const video = videoTrack ? VideoCodecSchema.safeParse(videoTrack.codec) : undefined;
  const audio = audioTrack ? AudioCodecSchema.safeParse(audioTrack.codec) : undefined;
  if (video && !video.success) throw new UnsupportedCodecError('video', videoTrack?.codec);
  if (audio && !audio.success) throw new UnsupportedCodecError('audio', audioTrack?.codec);
  const resolved = resolveOutputFormat({ video: video?.data, audio: audio?.data, container: options.container, audioCodec: options.audioCodec });
  if (!resolved.ok) throw new UnsupportedFormatError(resolved.message);
  return resolved.format;
}

/** What goes into a failed entry's `error`: the code, and words a user may see. */
function clientSafe(err: unknown): ErrorBody {
  return toHttpError(err).toBody();
}
