import { EventEmitter } from 'node:events';
import {
  StartRecordingReplySchema,
  type Container,
  type ErrorBody,
  type OutputAudioCodec,
  type Recording as CatalogRecording,
  type RecorderListening,
  type RecorderStartRequest,
  type RecordingEvent,
  type RecordingReport,
  type RtpTrackSpec,
  type Segment,
  type StartRecordingReply,
  type StopReason,
} from '@recstack/contracts';
import { TimeoutError, errorCodeOf, sleep, systemClock, toErrorBody, type Clock, type Logger } from '@recstack/service-kit';
import { addSegment, applyIngestStats, markFailed, markPlaced, markStopping } from '@recstack/catalog';
import type { ChosenTrack } from '../webrtc/codec-choice.js';
import { AtCapacityError, InsufficientStorageError, RecorderFailedError, RecordingAbandonedError, RecordingCancelledError } from '../errors.js';
import { ingestDelta, type IngestCounters } from './ingest-stats.js';
import { GapKeyframeWatch, type HoldSample } from './gap-keyframes.js';
import { KeyframeRequester } from './keyframe-requester.js';
import type { IncomingStreamTrack, Streamer } from '../webrtc/medooze.js';
import type { PortAllocator, PortLease } from './port-allocator.js';
import type { RecorderClient } from './recorder-client.js';
import type { RecorderNetworks } from '../placement/recorder-networks.js';
import type { RecordingEventChannel } from './recording-events.js';
import { RtpForwarder, resolveRecorderHost } from './rtp-forwarder.js';

export type RecordingState = 'starting' | 'active' | 'stopping' | 'ended';

/** How a recording ended: the recorder's report, or why there is none. */
export type RecordingOutcome = { ok: true; report: RecordingReport } | { ok: false; error: ErrorBody };

/** The part of the catalog media writes to (RecordingCatalog.update). */
export interface CatalogWriter {
  update(id: string, change: (current: CatalogRecording) => CatalogRecording): Promise<CatalogRecording | undefined>;
}

export interface RecordingMetrics {
  keyframeRequested(): void;
  /** a keyframe requested because a video packet was given up (an unrepaired gap) */
  gapKeyframeRequested(): void;
  startRetried(code: string): void;
  firstKeyframe(msSinceListening: number): void;
}

export interface RecordingDeps {
  /** the recording's event subject (natsRecordingEvents) */
  events: RecordingEventChannel;
  mediaId: string;
  recorder: Pick<RecorderClient, 'start' | 'stop'>;
  /** where a recorder's RTP may go: checked before any Streamer exists */
  recorderNetworks: RecorderNetworks;
  ports: PortAllocator;
  createStreamer: () => Streamer;
  catalog: CatalogWriter | undefined;
  keyframeIntervalMs: number;
  startAttempts: number;
  stopTimeoutMs: number;
  /** how long after losing its recorder a recording may still get its real outcome before it is marked failed */
  recorderLostGraceMs: number;
  /**
   * how long a handover of a lost recorder's recording keeps asking while no recorder takes it (none runs, or
   * none has room): a restarted recorder may be back within it (default: no second round)
   */
  lostHandoverWaitMs?: number;
  metrics: RecordingMetrics;
  logger: Logger;
  /** every wait and timestamp of the recording (default: the system's) */
  clock?: Clock;
}

export interface RecordingPlan {
  recordingId: string;
  sessionId: string;
  container: Container;
  audioCodec: OutputAudioCodec | null;
  tracks: Array<{ chosen: ChosenTrack; incoming: IncomingStreamTrack }>;
  /** asks the publisher for a keyframe; false when it cannot (no video, connection closed) */
  requestKeyframe: () => boolean;
  /** the session's receive counters per track; empty once the connection is closed */
  receiveStats: () => Promise<IngestCounters[]>;
  /** the video track's hold and longest recent wait, to see given-up packets; undefined without video */
  videoHold: () => HoldSample | undefined;
}

/** how often the receive counters are sampled while recording: the last sample stands in when the publisher is gone at the stop */
const INGEST_SAMPLE_MS = 1000;

export interface StopOptions {
  /** media decided to stop (publisher left, shutdown): mark the catalog entry `stopping` and say so */
  initiatedByMedia?: boolean;
  /** how long to wait for the recorder's report (default: the configured stop timeout) */
  timeoutMs?: number;
}

const MAX_FMTP = 1024;
/** after the recorder says it does not know the recording, how long its `finished` event may take */
const LATE_EVENT_MS = 3000;
/** while no recorder takes a lost recorder's recording, how often it asks again */
const LOST_RETRY_MS = 500;
/**
 * Background catalog writes (stopping, segments, failed) are retried for about a minute: while NATS restarts
 * they fail, and the state change must land once it is back (the start's own write is not: it gates the start).
 */
const CATALOG_ATTEMPTS = 10;
const CATALOG_RETRY_MS = 500;
const CATALOG_RETRY_MAX_MS = 8000;

/**
 * Media's side of one recording of a publisher session (the recorder runs the file side): relays the
 * publisher's RTP to a recorder, from the handshake with that recorder to its report.
 *
 * start: lease ports → recorder.v1.start (PORT_IN_USE: quarantine and retry with other ports;
 * AT_CAPACITY: retry, another recorder may take it) → on the listening reply create the Streamer
 * sessions → request keyframes until the recorder's `first-keyframe` event.
 * stop: stop forwarding → recorder.v1.<id>.stop → its report (or `finished`/`failed` event) → ports back.
 * A recorder that ends the recording on its own (RTP timeout, its shutdown) or disappears also ends it.
 * Emits `ended` exactly once, whatever the way.
 */
export class RecordingRelay extends EventEmitter<{ ended: [RecordingOutcome] }> {
  readonly id: string;
  readonly sessionId: string;
  private state: RecordingState = 'starting';
  private lease: PortLease | undefined;
  private listening: RecorderListening | undefined;
  private forwarder: RtpForwarder | undefined;
  private keyframes: KeyframeRequester | undefined;
  private gapKeyframes: GapKeyframeWatch | undefined;
  /** keyframe requests of the watches of earlier segments (each forward() starts a new one) */
  private gapRequestsBefore = 0;
  private events: { close(): void } | undefined;
  private startPromise: Promise<StartRecordingReply> | undefined;
  private stopPromise: Promise<RecordingOutcome> | undefined;
  private cancelled = false;
  private outcome: RecordingOutcome | undefined;
  /** an end the recorder announced (finished/failed event) before we asked for one */
  private announcedEnd: RecordingOutcome | undefined;
  private announcedEndWaiters: Array<(o: RecordingOutcome) => void> = [];
  private listeningAt = 0;
  /** receive counters when forwarding began, and the latest sample since */
  private ingestStart: Promise<IngestCounters[] | undefined> | undefined;
  private ingestLast: IngestCounters[] | undefined;
  private stopIngestSampling: (() => void) | undefined;
  private ingestWritten = false;
  /** the segments closed by handovers, oldest first (empty while the recording never moved) */
  private readonly segments: Segment[] = [];
  /** the running segment's first keyframe (wall clock) */
  private segmentStartedAt: string | null = null;
  private handingOver: Promise<boolean> | undefined;
  /** a recorder id the recording may go back to although it was lost there: a fresh process of that id said so */
  private returnAllowed: string | undefined;
  /** a stop arrived: a handover still looking for a recorder gives up */
  private stopAsked = false;
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(
    private readonly deps: RecordingDeps,
    private readonly plan: RecordingPlan,
  ) {
    super();
    this.id = plan.recordingId;
    this.sessionId = plan.sessionId;
    this.log = deps.logger.child({ recordingId: plan.recordingId, sessionId: plan.sessionId });
    this.clock = deps.clock ?? systemClock;
  }

  get currentState(): RecordingState {
    return this.state;
  }

  get recorderId(): string | undefined {
    return this.listening?.recorderId;
  }

  /** the file of the segment being recorded now (`<id>.<ext>`, then `<id>-s1.<ext>`, ...) */
  get segmentFile(): string | undefined {
    return this.listening?.fileName;
  }

  start(): Promise<StartRecordingReply> {
    this.startPromise ??= this.runStart();
    return this.startPromise;
  }

  /** Idempotent: every caller gets the same outcome. */
  stop(reason: StopReason, options: StopOptions = {}): Promise<RecordingOutcome> {
    this.stopPromise ??= this.runStop(reason, options);
    return this.stopPromise;
  }

  /** The recorder holding this recording stopped answering: give up on it. */
  recorderLost(): void {
    if (this.state !== 'active') return;
    const error: ErrorBody = { code: 'RECORDER_UNAVAILABLE', message: `recorder ${this.recorderId ?? '?'} stopped answering` };
    this.log.error({ recorderId: this.recorderId }, 'recorder lost');
    this.teardown();
    void this.writeIngestStats();
    // its pipeline may outlive it and still hold the ports
    this.lease?.quarantine();
    // a restarted recorder salvages the crash-safe file and writes the real outcome; markFailed changes
    // nothing once it has, so this only catches recordings nobody recovered
    this.clock.schedule(() => void this.writeCatalog((r) => markFailed(r, error, this.date()), CATALOG_ATTEMPTS), this.deps.recorderLostGraceMs);
    this.end({ ok: false, error });
  }

  private async runStart(): Promise<StartRecordingReply> {
    try {
      const events = this.deps.events.listen(this.id, (e) => this.onEvent(e), this.log);
      this.events = events;
      await events.ready;
      const listening = await this.negotiate();
      this.listening = listening;
      this.listeningAt = this.clock.now();
      this.log.info({ recorderId: listening.recorderId, host: listening.host, ports: this.lease?.ports, engine: listening.engine }, 'recorder listening');
      if (this.cancelled) throw new RecordingCancelledError(this.id);
      // signaling gives up on a start that takes too long and marks the entry failed: do not record for nobody
      const entry = await this.writeCatalog((r) => markPlaced(r, listening.recorderId, this.date()));
      if (entry && (entry.status === 'failed' || entry.status === 'done')) {
        throw new RecordingAbandonedError(this.id, entry.status);
      }
      const address = await resolveRecorderHost(listening.host);
      this.deps.recorderNetworks.assertAllowed(address, listening.recorderId, this.log);
      if (this.cancelled) throw new RecordingCancelledError(this.id);
      if (this.announcedEnd) throw new RecorderFailedError('the recorder ended the recording while it was starting');
      this.forward(address);
      this.state = 'active';
      this.startIngestSampling();
      this.log.info('recording started');
      return StartRecordingReplySchema.parse({
        recordingId: this.id,
        recorderId: listening.recorderId,
        container: this.plan.container,
        audioCodec: this.plan.audioCodec,
        fileName: listening.fileName,
        tracks: this.plan.tracks.map(({ chosen }, i) => ({ kind: chosen.kind, codec: chosen.codec, port: this.lease?.ports[i] ?? 0 })),
      });
    } catch (err) {
      await this.failStart(err);
      throw err;
    }
  }

  /** Streamer sessions towards the recorder's ports, and keyframe requests until it writes one. */
  private forward(address: string): void {
    this.forwarder = RtpForwarder.open(
      this.deps.createStreamer,
      address,
      this.plan.tracks.map(({ chosen, incoming }, i) => ({
        kind: chosen.kind,
        codec: chosen.codec,
        payloadType: chosen.payloadType,
        incoming,
        port: this.lease?.ports[i] ?? 0,
      })),
      this.log,
    );
    if (this.plan.tracks.some((t) => t.chosen.kind === 'video')) {
      this.keyframes = new KeyframeRequester(
        () => {
          if (this.plan.requestKeyframe()) this.deps.metrics.keyframeRequested();
        },
        this.deps.keyframeIntervalMs,
        (err) => this.log.warn({ err }, 'keyframe request failed'),
        this.clock,
      );
      this.keyframes.start();
      this.watchGaps();
    }
  }

  /** A video packet given up after the hold damages the file up to the next keyframe: ask for one at once. */
  private watchGaps(): void {
    this.gapRequestsBefore += this.gapKeyframes?.requestsSent ?? 0;
    this.gapKeyframes?.stop();
    this.gapKeyframes = new GapKeyframeWatch({
      clock: this.clock,
      probe: () => this.plan.videoHold(),
      request: () => this.plan.requestKeyframe(),
      onRequested: (sample, followUp) => {
        this.deps.metrics.gapKeyframeRequested();
        this.log.info({ waitedMs: sample.maxWaitedMs, holdMs: sample.holdMs, followUp }, 'keyframe requested on a given-up video packet');
      },
      onError: (err) => this.log.warn({ err }, 'gap keyframe request failed'),
    });
    this.gapKeyframes.start();
  }

  /**
   * Moves the recording to another recorder: its recorder stopped answering (`lost`) or is shutting down
   * (`drain`). The running segment closes, a new one opens elsewhere (new ports, new Streamer sessions,
   * keyframe requests); the new recorder joins the segments when the recording ends. A draining recorder is
   * then told to finish its segment (EOS) without ending the recording. Resolves false when no recorder
   * took it: a lost recording then ends as before (`RECORDER_UNAVAILABLE`), a draining one is finished
   * where it is.
   */
  handover(cause: 'lost' | 'drain'): Promise<boolean> {
    if (this.state !== 'active' || !this.listening) return Promise.resolve(false);
    this.handingOver ??= this.runHandover(cause, this.listening).finally(() => {
      this.handingOver = undefined;
    });
    return this.handingOver;
  }

  get isHandingOver(): boolean {
    return this.handingOver !== undefined;
  }

  /**
   * The recorder process that held the recording is gone, and a fresh process with the same id says it does
   * not hold it (`recorder.v1.lost`, or its pong leaves it out): the handover may place the recording on that
   * id again. A lost id is otherwise left out: its old process may be alive but cut off, still recording.
   */
  allowReturn(recorderId: string): void {
    this.returnAllowed = recorderId;
  }

  private async runHandover(cause: 'lost' | 'drain', old: RecorderListening): Promise<boolean> {
    const oldLease = this.lease;
    const closing: Segment = { recorderId: old.recorderId, startedAt: this.segmentStartedAt, endedAt: null, file: old.fileName };
    const began = this.clock.now();
    this.log.warn({ cause, recorderId: old.recorderId, segment: this.segments.length + 1 }, 'handing the recording over');
    // a lost recorder's ports may still be held by its pipeline; a draining one keeps them until its stop
    if (cause === 'lost') this.teardown();
    this.segments.push(closing);
    let listening: RecorderListening;
    try {
      listening = await this.placeAgain(cause, old.recorderId);
      const address = await resolveRecorderHost(listening.host);
      this.deps.recorderNetworks.assertAllowed(address, listening.recorderId, this.log);
    } catch (err) {
      this.segments.pop();
      this.lease = oldLease;
      this.log.error({ err, cause }, 'handover failed: no other recorder took the recording');
      if (cause === 'lost') this.recorderLost();
      return false;
    }
    if (this.state !== 'active') {
      // stopped meanwhile (runStop waits for the handover, so this is a recorder end): let the new one go
      void this.deps.recorder.stop(listening.recorderId, { recordingId: this.id, reason: 'error' }, this.deps.stopTimeoutMs).catch(() => undefined);
      return false;
    }
    if (cause === 'drain') this.teardown();
    this.listening = listening;
    this.listeningAt = this.clock.now();
    this.segmentStartedAt = null;
    this.forward(await resolveRecorderHost(listening.host));
    this.log.info({ recorderId: listening.recorderId, ports: this.lease?.ports, ms: this.clock.now() - began }, 'recording handed over');
    const at = this.date();
    void this.writeCatalog(
      (r) => addSegment(r, closing, { recorderId: listening.recorderId, startedAt: null, endedAt: null, file: listening.fileName }, at),
      CATALOG_ATTEMPTS,
    );
    if (cause === 'lost') {
      oldLease?.quarantine();
    } else {
      // the draining recorder finalizes its segment file; the recording goes on here. Awaited (an EOS takes
      // about a second) so that a stop arriving meanwhile reaches the joiner only once that file is final
      await this.deps.recorder.stop(old.recorderId, { recordingId: this.id, reason: 'shutdown', handover: true }, this.deps.stopTimeoutMs).then(
        (report) => {
          closing.endedAt = report.stoppedAt;
          oldLease?.release();
        },
        (err: unknown) => {
          this.log.warn({ err, recorderId: old.recorderId }, 'draining recorder did not finish its segment');
          oldLease?.quarantine();
        },
      );
    }
    return true;
  }

  /**
   * The next segment's recorder, never the one being left unless a fresh process of its id asked for it
   * (allowReturn). A lost recorder's recording keeps asking for `lostHandoverWaitMs` while no recorder runs
   * or has room (a restarted one may be starting), unless a stop arrives meanwhile.
   */
  private async placeAgain(cause: 'lost' | 'drain', left: string): Promise<RecorderListening> {
    const until = this.clock.now() + (cause === 'lost' ? (this.deps.lostHandoverWaitMs ?? 0) : 0);
    for (let round = 1; ; round++) {
      try {
        // a lost id that answers a start from the queue group is a live process that did not hold the recording
        // (one still recording it refuses other ports: CONFLICT), so only a drain insists on another recorder
        const back = cause === 'lost' && this.returnAllowed === left;
        return await this.negotiate(back ? undefined : left, cause === 'drain');
      } catch (err) {
        const code = errorCodeOf(err);
        const nobodyTookIt = code === 'RECORDER_UNAVAILABLE' || code === 'AT_CAPACITY' || code === 'INSUFFICIENT_STORAGE';
        if (!nobodyTookIt || this.stopAsked || this.state !== 'active' || this.clock.now() >= until) throw err;
        if (round === 1) this.log.warn({ code, waitMs: until - this.clock.now() }, 'no recorder took the recording yet, asking again');
        await sleep(this.clock, LOST_RETRY_MS);
        if (this.stopAsked || this.state !== 'active') throw err;
      }
    }
  }

  /** Asks recorders until one listens on ports of ours, or there is no point in asking again. */
  private async negotiate(exclude?: string, strict = true): Promise<RecorderListening> {
    const attempts = this.deps.startAttempts;
    for (let attempt = 1; ; attempt++) {
      if (this.cancelled) throw new RecordingCancelledError(this.id);
      const lease = this.deps.ports.lease(this.plan.tracks.length);
      try {
        const listening = await this.deps.recorder.start(this.recorderRequest(lease.ports), exclude, strict);
        this.lease = lease;
        return listening;
      } catch (err) {
        const code = errorCodeOf(err);
        if (code === 'PORT_IN_USE') {
          lease.quarantine();
          if (attempt < attempts) {
            this.log.warn({ ports: lease.ports, attempt }, 'recorder could not bind the ports, retrying with others');
            this.deps.metrics.startRetried(code);
            continue;
          }
        } else if (code === 'AT_CAPACITY' || code === 'INSUFFICIENT_STORAGE') {
          // a recorder without room (recordings or disk): another one may have it
          lease.release();
          if (attempt < attempts) {
            this.log.warn({ attempt, code }, code === 'AT_CAPACITY' ? 'recorder at capacity, retrying' : 'recorder short of disk space, retrying');
            this.deps.metrics.startRetried(code);
            await sleep(this.clock, 150 * attempt);
            continue;
          }
          const message = `no recorder took the recording after ${attempts} attempts`;
          throw code === 'AT_CAPACITY' ? new AtCapacityError(message, { cause: err }) : new InsufficientStorageError(message, { cause: err });
        } else if (err instanceof TimeoutError) {
          // a recorder may have started listening without our hearing of it: keep its ports out of use
          lease.quarantine();
        } else {
          lease.release();
        }
        throw err;
      }
    }
  }

  private recorderRequest(ports: readonly number[]): RecorderStartRequest {
    const tracks: RtpTrackSpec[] = this.plan.tracks.map(({ chosen }, i) => {
      const spec: RtpTrackSpec = {
        kind: chosen.kind,
        codec: chosen.codec,
        payloadType: chosen.payloadType,
        clockRate: chosen.clockRate,
        port: ports[i] ?? 0,
      };
      if (chosen.channels !== undefined) spec.channels = chosen.channels;
      if (chosen.fmtp !== undefined && chosen.fmtp.length <= MAX_FMTP) spec.fmtp = chosen.fmtp;
      return spec;
    });
    const req: RecorderStartRequest = {
      recordingId: this.id,
      sessionId: this.sessionId,
      tracks,
      container: this.plan.container,
      audioCodec: this.plan.audioCodec,
    };
    if (this.segments.length > 0) req.segment = { index: this.segments.length, previous: [...this.segments] };
    return req;
  }

  /** A start that failed after the recorder was listening must not leave that recorder running. */
  private async failStart(err: unknown): Promise<void> {
    if (this.listening && !this.cancelled) {
      this.log.warn({ err }, 'recording start failed after the recorder listened, stopping it');
      this.teardown();
      const outcome = await this.requestReport('error', this.deps.stopTimeoutMs);
      this.endWithPorts(outcome);
      return;
    }
    if (this.listening && this.cancelled) return; // stop() owns the rest
    this.teardown();
    this.end({ ok: false, error: toErrorBody(err) });
  }

  private async runStop(reason: StopReason, options: StopOptions): Promise<RecordingOutcome> {
    this.stopAsked = true;
    if (this.state === 'starting') {
      this.cancelled = true;
      await this.startPromise?.catch(() => undefined);
    }
    // a handover under way finishes first: the stop goes to the recorder that holds the last segment
    await this.handingOver;
    if (this.state === 'ended' && this.outcome) return this.outcome;
    this.state = 'stopping';
    // stop sending first: nothing may reach the recorder's ports after they are handed back
    this.teardown();
    if (options.initiatedByMedia) this.announceStopping(reason);
    // before the report: the recorder's `done` then carries media's counts too (webhooks send that entry)
    await this.writeIngestStats();
    this.log.info({ reason, recorderId: this.recorderId }, 'stopping recording');
    const outcome = await this.requestReport(reason, options.timeoutMs ?? this.deps.stopTimeoutMs);
    if (!outcome.ok && outcome.error.code === 'RECORDER_UNAVAILABLE') {
      // the recorder is gone: nobody else will ever write this recording's final state
      await this.writeCatalog((r) => markFailed(r, outcome.error, this.date()), CATALOG_ATTEMPTS);
    }
    this.endWithPorts(outcome);
    return outcome;
  }

  /** Asks the recorder to finalize; the answer is its reply or its finished/failed event, whichever comes first. */
  private async requestReport(reason: StopReason, timeoutMs: number): Promise<RecordingOutcome> {
    const recorderId = this.recorderId;
    if (!recorderId) return { ok: false, error: { code: 'RECORDER_FAILED', message: 'no recorder holds the recording' } };
    if (this.announcedEnd) return this.announcedEnd;
    const fromEvent = new Promise<RecordingOutcome>((resolve) => this.announcedEndWaiters.push(resolve));
    const fromReply = this.deps.recorder.stop(recorderId, { recordingId: this.id, reason }, timeoutMs).then(
      (report): RecordingOutcome => ({ ok: true, report }),
      async (err: unknown): Promise<RecordingOutcome> => {
        if (errorCodeOf(err) === 'NO_SUCH_RECORDING') {
          // it finished on its own a moment ago; its event is on the way
          const late = await Promise.race([fromEvent, sleep(this.clock, LATE_EVENT_MS).then(() => undefined)]);
          if (late) return late;
        }
        this.log.warn({ err, recorderId }, 'recorder stop failed');
        return { ok: false, error: toErrorBody(err) };
      },
    );
    return Promise.race([fromReply, fromEvent]);
  }

  private onEvent(event: RecordingEvent): void {
    // a segment's recorder other than the current one (handed over) does not speak for the recording
    if (event.type === 'first-keyframe' && event.recorderId !== this.recorderId) return;
    if (event.type === 'finished' && event.report.recorderId !== this.recorderId) return;
    if (event.type === 'failed' && this.handingOver) return;
    switch (event.type) {
      case 'first-keyframe':
        this.segmentStartedAt ??= event.at;
        if (this.keyframes?.running) {
          this.log.info({ keyframeRequests: this.keyframes.requestsSent, msSinceListening: this.clock.now() - this.listeningAt }, 'first keyframe written');
          this.deps.metrics.firstKeyframe(this.clock.now() - this.listeningAt);
        }
        this.keyframes?.stop();
        return;
      case 'finished':
        this.onAnnouncedEnd({ ok: true, report: event.report });
        return;
      case 'failed':
        this.onAnnouncedEnd({ ok: false, error: event.error });
        return;
      default:
        return;
    }
  }

  private onAnnouncedEnd(outcome: RecordingOutcome): void {
    if (this.announcedEnd || this.state === 'ended') return;
    this.announcedEnd = outcome;
    for (const resolve of this.announcedEndWaiters.splice(0)) resolve(outcome);
    if (this.state === 'active') {
      // the recorder ended it (RTP timeout, its own shutdown, pipeline error): stop feeding it
      this.log.warn({ ok: outcome.ok, error: outcome.ok ? undefined : outcome.error }, 'recording ended by the recorder');
      this.teardown();
      void this.writeIngestStats();
      this.endWithPorts(outcome);
    }
  }

  private teardown(): void {
    this.keyframes?.stop();
    this.gapKeyframes?.stop();
    this.forwarder?.close();
    this.stopIngestSampling?.();
    this.stopIngestSampling = undefined;
  }

  private startIngestSampling(): void {
    const sample = () =>
      this.plan.receiveStats().then(
        (s) => (s.length > 0 ? s : undefined),
        () => undefined,
      );
    this.ingestStart = sample();
    this.stopIngestSampling = this.clock.every(() => {
      void sample().then((s) => {
        if (s) this.ingestLast = s;
      });
    }, INGEST_SAMPLE_MS);
  }

  /** Media's part of the recording's stats, once: what arrived from the publisher while it was forwarded. */
  private async writeIngestStats(): Promise<void> {
    if (this.ingestWritten || !this.ingestStart) return;
    this.ingestWritten = true;
    const start = await this.ingestStart;
    const now = await this.plan.receiveStats().catch(() => []);
    const end = now.length > 0 ? now : this.ingestLast;
    if (!end) return;
    const requests = (this.keyframes?.requestsSent ?? 0) + this.gapRequestsBefore + (this.gapKeyframes?.requestsSent ?? 0);
    const ingest = ingestDelta(start, end, requests);
    this.log.info({ ingest }, 'recording ingest stats');
    await this.writeCatalog((r) => applyIngestStats(r, ingest, this.date()));
  }

  /** Ports go back once the recorder is known to have let go of them; otherwise they sit out a quarantine. */
  private endWithPorts(outcome: RecordingOutcome): void {
    const recorderLetGo = outcome.ok || !['TIMEOUT', 'RECORDER_UNAVAILABLE', 'INTERNAL'].includes(outcome.error.code);
    if (recorderLetGo) this.lease?.release();
    else this.lease?.quarantine();
    this.end(outcome);
  }

  private end(outcome: RecordingOutcome): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.outcome = outcome;
    this.lease?.release();
    this.events?.close();
    for (const resolve of this.announcedEndWaiters.splice(0)) resolve(outcome);
    this.log.info({ ok: outcome.ok, status: outcome.ok ? outcome.report.status : undefined, error: outcome.ok ? undefined : outcome.error }, 'recording ended');
    this.emit('ended', outcome);
  }

  private announceStopping(reason: StopReason): void {
    const at = this.date();
    void this.writeCatalog((r) => markStopping(r, reason, at), CATALOG_ATTEMPTS);
    try {
      this.deps.events.publish(this.id, { type: 'stopping', recordingId: this.id, reason, at: at.toISOString() });
    } catch (err) {
      this.log.warn({ err }, 'stopping event not published');
    }
  }

  private date(): Date {
    return new Date(this.clock.now());
  }

  /**
   * Catalog bookkeeping never fails a recording: the recorder and signaling write the decisive states.
   * Resolves with the stored entry, or undefined when there is none or the write failed.
   */
  private async writeCatalog(change: (r: CatalogRecording) => CatalogRecording, attempts = 1): Promise<CatalogRecording | undefined> {
    if (!this.deps.catalog) return undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        const written = await this.deps.catalog.update(this.id, change);
        if (!written) this.log.warn('recording has no catalog entry');
        return written;
      } catch (err) {
        this.log.error({ err, attempt }, 'catalog update failed');
        if (attempt >= attempts) return undefined;
        await sleep(this.clock, Math.min(CATALOG_RETRY_MAX_MS, CATALOG_RETRY_MS * 2 ** (attempt - 1)));
      }
    }
  }
}
