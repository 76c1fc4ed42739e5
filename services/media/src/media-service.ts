import type { NatsConnection } from 'nats';
import {
  CreateSessionReplySchema,
  SessionEventSchema,
  resolveOutputFormat,
  subjects,
  type CloseSessionReply,
  type CreateSessionReply,
  type CreateSessionRequest,
  type MediaPong,
  type PublishedTrack,
  type PublisherSession,
  type RecorderLost,
  type RecordingReport,
  type SessionEvent,
  type StartRecordingReply,
  type StartRecordingRequest,
  type StopRecordingRequest,
} from '@recstack/contracts';
import { ServiceError, ShuttingDownError, errorCodeOf, publishEvent, type Logger } from '@recstack/service-kit';
import { chooseCodecs, chosenTracks, type CodecChoice } from './webrtc/codec-choice.js';
import {
  AlreadyRecordingError,
  AtCapacityError,
  NoSuchRecordingError,
  NoSuchSessionError,
  RecordingEndedError,
  SessionExistsError,
  UnsupportedFormatError,
} from './errors.js';
import { ingestRefusal, loadShare, type IngestLimits, type IngestMonitor } from './placement/ingest-load.js';
import type { MediaMetrics } from './media-metrics.js';
import type { PortAllocator } from './recording/port-allocator.js';
import type { PublisherConnection, TrackReceiveStats } from './webrtc/publisher-connection.js';
import { RecentOutcomes } from './recording/recent-outcomes.js';
import type { RecorderClient } from './recording/recorder-client.js';
import type { RecorderNetworks } from './placement/recorder-networks.js';
import { natsRecordingEvents } from './recording/recording-events.js';
import { RecordingRelay, type CatalogWriter, type RecordingOutcome } from './recording/recording-relay.js';
import { parseOffer } from './webrtc/sdp-offer.js';
import type { SessionStore } from './session-store.js';
import type { WebRtcEndpoint } from './webrtc/webrtc-endpoint.js';

export type SessionCloseReason = 'requested' | 'publisher-left' | 'ice-timeout' | 'shutdown';

/** A session's receive figures, and for its running recording the packets already lost when it started. */
export interface SessionTrackStats {
  sessionId: string;
  tracks: TrackReceiveStats[];
  recording?: { recordingId: string; lostAtStart: ReadonlyMap<string, number> };
}

export interface MediaServiceOptions {
  mediaId: string;
  maxSessions: number;
  /** 0: no limit */
  maxPacketsPerSecond: number;
  /** 0: no limit */
  maxCpuPercent: number;
  keyframeIntervalMs: number;
  recorderStartAttempts: number;
  recordingStopTimeoutMs: number;
  recorderLostGraceMs: number;
  /** how long a lost recorder's recording waits for a recorder to take it (RECORDER_LOST_WAIT_SECONDS) */
  recorderLostWaitMs: number;
  /** where a recorder's RTP may go (RECORDER_ALLOWED_NETWORKS) */
  recorderNetworks: RecorderNetworks;
  /** the recorder's report is awaited at most this long on shutdown (inside the process's shutdown deadline) */
  shutdownStopTimeoutMs: number;
}

export interface MediaServiceDeps {
  nc: NatsConnection;
  endpoint: Pick<WebRtcEndpoint, 'connect' | 'createStreamer' | 'localPorts'>;
  ingest: Pick<IngestMonitor, 'current' | 'unmeasured'>;
  store: Pick<SessionStore, 'put' | 'remove'>;
  recorder: RecorderClient;
  ports: PortAllocator;
  catalog: CatalogWriter | undefined;
  metrics: MediaMetrics;
  logger: Logger;
}

interface HeldSession {
  entry: PublisherSession;
  choice: CodecChoice;
  connection: PublisherConnection;
  recording: RecordingRelay | undefined;
  closing: Promise<void> | undefined;
  log: Logger;
}

/** how long and how many finished recordings are remembered for late stop requests */
const OUTCOME_MEMORY = { entries: 1000, ms: 10 * 60_000 };
/** a recorder that misses this many consecutive pings is given up */
const RECORDER_MISSES = 2;
const RECORDER_PING_WAIT_MS = 1000;
/** a recorder that missed one check is checked again this soon: a handover starts within about this of a crash noticed */
const RECORDER_RECHECK_MS = 250;
/** after media's NATS connection is back, how long recorders have to reconnect before a silence counts */
const RECONNECT_GRACE_MS = 10_000;
/** a recorder whose pong leaves out a recording media gives it this many checks in a row has lost it */
const UNLISTED_CHECKS = 2;

/**
 * The media instance's sessions and recordings: what the NATS handlers call. Owns the rules that span
 * both (capacity, one active recording per session, what a session's end does to its recording) and
 * the `sessions_v1` entries and session events.
 */
export class MediaService {
  private readonly sessions = new Map<string, HeldSession>();
  /** session ids being created, counted against capacity */
  private readonly reserved = new Set<string>();
  /** recordings not yet ended, whether or not their session still exists */
  private readonly recordings = new Map<string, RecordingRelay>();
  private readonly outcomes = new RecentOutcomes<RecordingOutcome>(OUTCOME_MEMORY.entries, OUTCOME_MEMORY.ms);
  private readonly recorderMisses = new Map<string, number>();
  /** per recording, the checks in a row whose pong from its recorder did not list it */
  private readonly unlisted = new Map<string, number>();
  /** per recording, packets lost per track kind before it started: its own loss is counted from there */
  private readonly lossAtRecordingStart = new Map<string, Map<string, number>>();
  private accepting = true;
  private checkingRecorders = false;
  private natsUp = true;
  private natsEpoch = 0;
  private checksResumeAt = 0;
  private readonly log: Logger;

  constructor(
    private readonly options: MediaServiceOptions,
    private readonly deps: MediaServiceDeps,
  ) {
    this.log = deps.logger;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get recordingCount(): number {
    return this.recordings.size;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  /** Current `sessions_v1` entries of this instance (for refreshing them). */
  sessionEntries(): PublisherSession[] {
    return [...this.sessions.values()].map((s) => s.entry);
  }

  async createSession(req: CreateSessionRequest): Promise<CreateSessionReply> {
    try {
      return await this.create(req);
    } catch (err) {
      this.deps.metrics.sessionRejected(errorCodeOf(err) ?? 'INTERNAL');
      throw err;
    }
  }

  private async create(req: CreateSessionRequest): Promise<CreateSessionReply> {
    const { sessionId } = req;
    if (!this.accepting) throw new ShuttingDownError();
    if (this.sessions.has(sessionId) || this.reserved.has(sessionId)) throw new SessionExistsError(sessionId);
    const held = [...this.sessions.keys(), ...this.reserved];
    const refusal = ingestRefusal(this.deps.ingest.current, this.limits, held.length, this.deps.ingest.unmeasured(held));
    if (refusal !== undefined) throw new AtCapacityError(refusal);
    const offer = parseOffer(req.offer);
    const choice = chooseCodecs(offer.medias);
    const log = this.log.child({ sessionId });
    this.reserved.add(sessionId);
    let connection: PublisherConnection | undefined;
    let stored = false;
    try {
      connection = this.deps.endpoint.connect(sessionId, offer, choice, log);
      const tracks: PublishedTrack[] = chosenTracks(choice).map((t) => ({ kind: t.kind, codec: t.codec }));
      const entry: PublisherSession = { sessionId, mediaId: this.options.mediaId, tracks, createdAt: new Date().toISOString() };
      await this.deps.store.put(entry);
      stored = true;
      if (!this.accepting) throw new ShuttingDownError();
      const session: HeldSession = { entry, choice, connection, recording: undefined, closing: undefined, log };
      this.sessions.set(sessionId, session);
      connection.on('connected', () => log.info('publisher connected'));
      connection.on('gone', (cause) => {
        log.info({ cause }, 'publisher gone');
        this.closeSession(sessionId, cause === 'connect-timeout' ? 'ice-timeout' : 'publisher-left').catch((err: unknown) =>
          log.error({ err }, 'session close failed'),
        );
      });
      this.publishSessionEvent({ type: 'connected', sessionId, mediaId: this.options.mediaId, at: new Date().toISOString() }, log);
      this.deps.metrics.sessionCreated();
      log.info({ tracks, video: choice.video?.payloadType, audio: choice.audio?.payloadType }, 'session created');
      return CreateSessionReplySchema.parse({ sessionId, mediaId: this.options.mediaId, answer: connection.answer, tracks });
    } catch (err) {
      connection?.close();
      if (stored) await this.deps.store.remove(sessionId).catch((e: unknown) => log.warn({ err: e }, 'session entry not removed'));
      throw err;
    } finally {
      this.reserved.delete(sessionId);
    }
  }

  /**
   * Ends a session: stops forwarding its recording and asks the recorder to finalize it, closes the
   * transport, deletes the `sessions_v1` entry and publishes `closed`. The reply does not wait for the
   * recorder's report (a long file takes a while to check); the report lands in the catalog, and a
   * recording.stop for that recording still answers with it. On shutdown it does wait.
   */
  async closeSession(sessionId: string, reason: SessionCloseReason): Promise<CloseSessionReply> {
    const session = this.sessions.get(sessionId);
    if (!session) return { sessionId, closed: false };
    session.closing ??= this.runClose(session, reason);
    await session.closing;
    return { sessionId, closed: true };
  }

  private async runClose(session: HeldSession, reason: SessionCloseReason): Promise<void> {
    const { sessionId } = session.entry;
    this.sessions.delete(sessionId);
    const recording = session.recording;
    const finalized = recording?.stop(reason === 'shutdown' ? 'shutdown' : 'publisher-left', {
      initiatedByMedia: true,
      ...(reason === 'shutdown' ? { timeoutMs: this.options.shutdownStopTimeoutMs } : {}),
    });
    // RecordingRelay.stop stops its Streamer sessions synchronously, before the tracks they read go away
    session.connection.close();
    try {
      await this.deps.store.remove(sessionId);
    } catch (err) {
      session.log.warn({ err }, 'session entry not removed');
    }
    this.publishSessionEvent({ type: 'closed', sessionId, mediaId: this.options.mediaId, reason, at: new Date().toISOString() }, session.log);
    this.deps.metrics.sessionClosed(reason);
    session.log.info({ reason, recordingId: recording?.id }, 'session closed');
    if (reason === 'shutdown') await finalized;
  }

  async startRecording(req: StartRecordingRequest): Promise<StartRecordingReply> {
    if (!this.accepting) throw new ShuttingDownError();
    const session = this.sessions.get(req.sessionId);
    if (!session || session.closing) throw new NoSuchSessionError(req.sessionId);
    if (session.recording) throw new AlreadyRecordingError(req.sessionId, session.recording.id);
    if (this.recordings.has(req.recordingId) || this.outcomes.get(req.recordingId)) {
      throw new ServiceError('CONFLICT', `recording ${req.recordingId} was already started`);
    }
    const { choice } = session;
    const format = resolveOutputFormat({ video: choice.video?.codec, audio: choice.audio?.codec, container: req.container, audioCodec: req.audioCodec });
    if (!format.ok) throw new UnsupportedFormatError(format.message);

    const recording = new RecordingRelay(
      {
        events: natsRecordingEvents(this.deps.nc),
        mediaId: this.options.mediaId,
        recorder: this.deps.recorder,
        recorderNetworks: this.options.recorderNetworks,
        ports: this.deps.ports,
        createStreamer: () => this.deps.endpoint.createStreamer(),
        catalog: this.deps.catalog,
        keyframeIntervalMs: this.options.keyframeIntervalMs,
        startAttempts: this.options.recorderStartAttempts,
        stopTimeoutMs: this.options.recordingStopTimeoutMs,
        recorderLostGraceMs: this.options.recorderLostGraceMs,
        lostHandoverWaitMs: this.options.recorderLostWaitMs,
        metrics: this.deps.metrics,
        logger: this.log,
      },
      {
        recordingId: req.recordingId,
        sessionId: req.sessionId,
        container: format.format.container,
        audioCodec: format.format.audioCodec ?? null,
        tracks: chosenTracks(choice).map((chosen) => {
          const handle = session.connection.track(chosen.kind);
          if (!handle) throw new ServiceError('INTERNAL', `session has no ${chosen.kind} track`);
          return { chosen, incoming: handle.track };
        }),
        requestKeyframe: () => session.connection.requestKeyframe(),
        receiveStats: () => session.connection.stats(),
        videoHold: () => session.connection.videoHold(),
      },
    );
    session.recording = recording;
    this.recordings.set(recording.id, recording);
    void session.connection.stats().then(
      (tracks) => {
        if (this.recordings.has(recording.id)) this.lossAtRecordingStart.set(recording.id, new Map(tracks.map((t) => [t.kind, t.packetsLost])));
      },
      () => undefined,
    );
    recording.once('ended', (outcome) => {
      this.recordings.delete(recording.id);
      this.lossAtRecordingStart.delete(recording.id);
      if (session.recording === recording) session.recording = undefined;
      this.outcomes.set(recording.id, outcome);
      this.deps.metrics.recordingEnded(outcome.ok ? outcome.report.status : outcome.error.code);
    });
    const reply = await recording.start();
    this.deps.metrics.recordingStarted();
    return reply;
  }

  /** Finalizes a recording and answers with the recorder's report. */
  async stopRecording(req: StopRecordingRequest): Promise<RecordingReport> {
    const recording = this.recordings.get(req.recordingId);
    let outcome: RecordingOutcome | undefined;
    if (recording && recording.sessionId === req.sessionId) outcome = await recording.stop(req.reason);
    else if (!recording) outcome = this.outcomes.get(req.recordingId);
    if (!outcome) throw new NoSuchRecordingError(req.recordingId);
    if (!outcome.ok) throw new RecordingEndedError(outcome.error);
    if (outcome.report.sessionId !== req.sessionId) throw new NoSuchRecordingError(req.recordingId);
    return outcome.report;
  }

  private get limits(): IngestLimits {
    return { maxSessions: this.options.maxSessions, maxPacketsPerSecond: this.options.maxPacketsPerSecond, maxCpuPercent: this.options.maxCpuPercent };
  }

  pong(): MediaPong {
    const load = this.deps.ingest.current;
    const sessions = this.sessions.size + this.reserved.size;
    return {
      mediaId: this.options.mediaId,
      sessions: this.sessions.size,
      recordings: this.recordings.size,
      capacity: this.options.maxSessions,
      load: loadShare(load, this.limits, sessions),
      packetsPerSecond: Math.round(load.packetsPerSecond),
      maxPacketsPerSecond: this.options.maxPacketsPerSecond,
      ...(load.cpuPercent !== undefined ? { cpuPercent: Math.round(load.cpuPercent * 10) / 10 } : {}),
      maxCpuPercent: this.options.maxCpuPercent,
      endpoints: this.deps.endpoint.localPorts.length,
      udpDrops: load.udpDrops,
      accepting: this.accepting,
    };
  }

  /** Cumulative packets received per session (media + RTX, every track): what the ingest rate is measured from. */
  async packetsBySession(): Promise<Map<string, number>> {
    const stats = await this.trackStats();
    return new Map(stats.map(({ sessionId, tracks }) => [sessionId, tracks.reduce((n, t) => n + t.packetsReceived, 0)]));
  }

  async trackStats(): Promise<SessionTrackStats[]> {
    const sessions = [...this.sessions.values()];
    return Promise.all(
      sessions.map(async (s) => {
        const recordingId = s.recording?.id;
        const baseline = recordingId !== undefined ? this.lossAtRecordingStart.get(recordingId) : undefined;
        const tracks = await s.connection.stats().catch(() => []);
        return {
          sessionId: s.entry.sessionId,
          tracks,
          ...(recordingId !== undefined && baseline ? { recording: { recordingId, lostAtStart: baseline } } : {}),
        };
      }),
    );
  }

  /** Stops taking new sessions and recordings. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Closes every session (finalizing its recording) and waits for recordings still finalizing. */
  async shutdown(): Promise<void> {
    this.stopAccepting();
    await Promise.all([...this.sessions.keys()].map((id) => this.closeSession(id, 'shutdown')));
    await Promise.all([...this.recordings.values()].map((r) => r.stop('shutdown', { initiatedByMedia: true, timeoutMs: this.options.shutdownStopTimeoutMs })));
  }

  /**
   * Asks each recorder holding an active recording whether it is there (its own subject: NATS answers "no
   * responders" at once when its connection is gone). A first miss is checked again shortly; a second one
   * in a row means it crashed or lost NATS, and its recordings are handed over to other recorders (ended,
   * `RECORDER_UNAVAILABLE`, when none takes them). While media itself is cut off from NATS nothing is
   * counted: every recorder would look gone (see natsConnection).
   */
  async checkRecorders(): Promise<void> {
    if (this.checkingRecorders || !this.natsUp || Date.now() < this.checksResumeAt) return;
    const active = [...this.recordings.values()].filter((r) => r.currentState === 'active' && r.recorderId !== undefined && !r.isHandingOver);
    if (active.length === 0) return;
    this.checkingRecorders = true;
    const epoch = this.natsEpoch;
    let recheck = false;
    try {
      const recorderIds = [...new Set(active.map((r) => r.recorderId ?? ''))];
      const answers = await Promise.all(recorderIds.map(async (id) => [id, await this.deps.recorder.pong(id, RECORDER_PING_WAIT_MS)] as const));
      // the connection dropped during the check: its misses say nothing about the recorders
      if (epoch !== this.natsEpoch || !this.natsUp) return;
      for (const [recorderId, pong] of answers) {
        if (pong) {
          this.recorderMisses.delete(recorderId);
          this.checkListed(recorderId, pong.recordings, active);
          continue;
        }
        const misses = (this.recorderMisses.get(recorderId) ?? 0) + 1;
        this.recorderMisses.set(recorderId, misses);
        this.log.warn({ recorderId, misses }, 'recorder did not answer a ping');
        if (misses < RECORDER_MISSES) {
          recheck = true;
          continue;
        }
        this.recorderMisses.delete(recorderId);
        for (const recording of active) if (recording.recorderId === recorderId) void recording.handover('lost');
      }
    } catch (err) {
      this.log.warn({ err }, 'recorder check failed');
    } finally {
      this.checkingRecorders = false;
    }
    if (recheck) setTimeout(() => void this.checkRecorders(), RECORDER_RECHECK_MS).unref();
  }

  /**
   * A recorder that answers but does not list a recording media has it record (its process died and one with
   * the same id took its place, whose `recorder.v1.lost` did not arrive): two checks in a row, and the
   * recording is handed over, that recorder allowed to take it back. Older recorders list nothing.
   */
  private checkListed(recorderId: string, held: readonly string[] | undefined, active: readonly RecordingRelay[]): void {
    if (!held) return;
    for (const recording of active) {
      if (recording.recorderId !== recorderId) continue;
      if (held.includes(recording.id)) {
        this.unlisted.delete(recording.id);
        continue;
      }
      const checks = (this.unlisted.get(recording.id) ?? 0) + 1;
      this.unlisted.set(recording.id, checks);
      if (checks < UNLISTED_CHECKS) continue;
      this.unlisted.delete(recording.id);
      this.log.warn({ recorderId, recordingId: recording.id }, 'recorder answers without the recording, handing it over');
      recording.allowReturn(recorderId);
      void recording.handover('lost');
    }
  }

  /**
   * A recorder started on a dead recorder's folder found recordings that one held (`recorder.v1.lost`): they
   * are handed over now, not after two missed pings (a restart with the same id answers them). When the dead
   * recorder's id is the reporter's own, that fresh process may take them back.
   */
  onRecordersLost(lost: RecorderLost): void {
    const files = new Map(lost.recordings.map((r) => [r.recordingId, r.file]));
    // only a recording still writing the lost segment: one already moved (even back to that id) is left alone
    const held = [...this.recordings.values()].filter(
      (r) => r.recorderId === lost.recorderId && r.currentState === 'active' && r.segmentFile !== undefined && files.get(r.id) === r.segmentFile,
    );
    if (held.length === 0) return;
    this.log.warn({ recorderId: lost.recorderId, reportedBy: lost.reportedBy, recordings: held.length }, 'recorder reported lost, handing its recordings over');
    for (const recording of held) {
      if (lost.reportedBy === lost.recorderId) recording.allowReturn(lost.recorderId);
      void recording.handover('lost');
    }
  }

  /** A recorder shutting down asked for its recordings to be moved (RECORDER_DRAIN=handover). */
  onRecorderDraining(recorderId: string): void {
    const held = [...this.recordings.values()].filter((r) => r.recorderId === recorderId && r.currentState === 'active');
    this.log.info({ recorderId, recordings: held.length }, 'recorder draining, handing its recordings over');
    for (const recording of held) void recording.handover('drain');
  }

  /**
   * Media's own NATS connection went down or came back. While down, no recorder is taken for lost; once
   * back, the recorders get time to reconnect too before their silence counts again.
   */
  natsConnection(up: boolean): void {
    if (up === this.natsUp) return;
    this.natsUp = up;
    this.natsEpoch += 1;
    this.recorderMisses.clear();
    if (up) this.checksResumeAt = Date.now() + RECONNECT_GRACE_MS;
    this.log.warn({ up }, up ? 'NATS connection back, recorder checks resume shortly' : 'NATS connection lost, recorder checks paused');
  }

  private publishSessionEvent(event: SessionEvent, log: Logger): void {
    try {
      publishEvent(this.deps.nc, subjects.events.session(event.sessionId), SessionEventSchema, event);
    } catch (err) {
      log.warn({ err, type: event.type }, 'session event not published');
    }
  }
}
