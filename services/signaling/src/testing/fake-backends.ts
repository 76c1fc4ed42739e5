import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KV, NatsConnection, Subscription } from 'nats';
import {
  BUCKETS,
  RecordingEventSchema,
  SessionEventSchema,
  fileExtension,
  rpc,
  subjects,
  type CreateSessionReply,
  type FileStats,
  type IngestStats,
  type PublishedTrack,
  type RecordingReport,
  type StartRecordingReply,
} from '@recstack/contracts';
import { applyIngestStats, applyReport, markFirstKeyframe, markPlaced, type RecordingCatalog } from '@recstack/catalog';
import { BadRequestError, ServiceError, call, encodeJson, publishEvent, serve, type Logger } from '@recstack/service-kit';

/**
 * Test responders for the media and recorder NATS contracts, so signaling can be tested against real
 * NATS without Medooze or GStreamer. They follow the contract (validated requests, typed error replies,
 * the sessions bucket, catalog writes, events) and write a deterministic file on stop, so downloads and
 * ranges can be checked byte for byte. Tests steer them through the `behaviour` hooks.
 */

export interface FakeMediaBehaviour {
  /** tracks a created session publishes */
  tracks: PublishedTrack[];
  /** throw to answer session.create with an error; return to let it proceed */
  beforeCreate?: (offer: string) => void | Promise<void>;
  beforeStart?: () => void | Promise<void>;
  beforeStop?: () => void | Promise<void>;
  /** extra delay before answering a start (to widen races) */
  startDelayMs: number;
  /** capacity in the pong; sessions beyond it are refused with AT_CAPACITY */
  capacity: number;
  /** the load share the pong reports; absent: none (as an older media instance) */
  load?: number;
}

/** The file a fake recording writes: `size` bytes whose value is their offset modulo 251. */
export function fakeFileBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

export interface FakeRecordingState {
  recordingId: string;
  sessionId: string;
  recorderId: string;
  container: 'mp4' | 'webm' | 'mkv';
  audioCodec: 'aac' | 'opus' | null;
  startedAt: Date;
}

export class FakeRecorder {
  readonly recorderId = 'rcd_fake1';
  readonly active = new Map<string, FakeRecordingState>();
  readonly stops: string[] = [];
  fileSize = 100_000;
  /** what the next reports say of the file's decode check */
  decodesCleanly = true;
  /** what the next recordings' stats say: media's ingest counts (written as media would) and the file's */
  stats: { ingest?: IngestStats; file?: FileStats } = {};
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly catalog: RecordingCatalog,
    private readonly recordingsDir: string,
    private readonly logger: Logger,
  ) {
    this.listen();
  }

  private listen(): void {
    const { nc, logger } = this;
    this.subs.push(
      serve(
        nc,
        rpc.recorder.start,
        async (req) => {
          const state: FakeRecordingState = {
            recordingId: req.recordingId,
            sessionId: req.sessionId,
            recorderId: this.recorderId,
            container: req.container,
            audioCodec: req.audioCodec,
            startedAt: new Date(),
          };
          this.active.set(req.recordingId, state);
          // the first keyframe arrives a moment after the recorder listens
          setTimeout(() => void this.firstKeyframe(req.recordingId), 30);
          return {
            recordingId: req.recordingId,
            recorderId: this.recorderId,
            host: '127.0.0.1',
            ports: req.tracks.map((t) => t.port),
            fileName: `${req.recordingId}${fileExtension(req.container)}`,
            engine: 'gstreamer' as const,
          };
        },
        { logger },
      ),
      serve(nc, rpc.recorder.stop, (req) => this.finish(req.recordingId, req.reason), { id: this.recorderId, logger }),
      serve(
        nc,
        rpc.recorder.ping,
        async () => ({ recorderId: this.recorderId, engine: 'gstreamer' as const, host: '127.0.0.1', active: this.active.size, capacity: 16 }),
        { logger },
      ),
    );
  }

  private async firstKeyframe(recordingId: string): Promise<void> {
    if (!this.active.has(recordingId)) return;
    const at = new Date();
    await this.catalog.update(recordingId, (r) => markFirstKeyframe(r, at));
    publishEvent(this.nc, subjects.events.recording(recordingId), RecordingEventSchema, {
      type: 'first-keyframe',
      recordingId,
      recorderId: this.recorderId,
      at: at.toISOString(),
    });
  }

  async finish(recordingId: string, reason: RecordingReport['reason']): Promise<RecordingReport> {
    const state = this.active.get(recordingId);
    if (!state) throw new ServiceError('NO_SUCH_RECORDING', `no recording ${recordingId} here`);
    this.active.delete(recordingId);
    this.stops.push(recordingId);
    const fileName = `${recordingId}${fileExtension(state.container)}`;
    await mkdir(this.recordingsDir, { recursive: true });
    await writeFile(join(this.recordingsDir, fileName), fakeFileBytes(this.fileSize));
    const stoppedAt = new Date();
    const report: RecordingReport = {
      recordingId,
      sessionId: state.sessionId,
      recorderId: this.recorderId,
      status: 'done',
      fileName,
      sizeBytes: this.fileSize,
      durationMs: Math.max(0, stoppedAt.getTime() - state.startedAt.getTime()),
      container: state.container,
      audioCodec: state.audioCodec,
      tracks: [
        { kind: 'video', codec: 'h264', width: 640, height: 480 },
        ...(state.audioCodec ? [{ kind: 'audio' as const, codec: state.audioCodec, sampleRate: 48000, channels: 2 }] : []),
      ],
      decodesCleanly: this.decodesCleanly,
      decodeCheck: 'full',
      startedAt: state.startedAt.toISOString(),
      stoppedAt: stoppedAt.toISOString(),
      reason,
      ...(this.stats.file ? { stats: this.stats.file } : {}),
    };
    const { ingest } = this.stats;
    if (ingest) await this.catalog.update(recordingId, (r) => applyIngestStats(r, ingest, stoppedAt));
    await this.catalog.update(recordingId, (r) => applyReport(r, report, stoppedAt));
    publishEvent(this.nc, subjects.events.recording(recordingId), RecordingEventSchema, { type: 'finished', recordingId, report, at: stoppedAt.toISOString() });
    return report;
  }

  /** Stops answering; resolves once the server has seen it (so no request is routed here any more). */
  async close(): Promise<void> {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    await this.nc.flush();
  }

  /** Answers again after close(); the sessions bucket and state are kept. */
  async reopen(): Promise<void> {
    await this.close();
    this.listen();
    await this.nc.flush();
  }
}

export class FakeMedia {
  readonly mediaId: string;
  readonly behaviour: FakeMediaBehaviour = {
    tracks: [
      { kind: 'video', codec: 'h264' },
      { kind: 'audio', codec: 'opus' },
    ],
    startDelayMs: 0,
    // far above what any test creates, unless the test lowers it
    capacity: 1000,
  };
  /** sessions created on this instance and not closed */
  readonly sessions = new Set<string>();
  /** session id → active recording id */
  readonly recordingOf = new Map<string, string>();
  readonly startRequests: string[] = [];
  readonly closedSessions: string[] = [];
  private readonly subs: Subscription[] = [];

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly catalog: RecordingCatalog,
    private readonly logger: Logger,
    mediaId: string,
  ) {
    this.mediaId = mediaId;
  }

  static async start(nc: NatsConnection, catalog: RecordingCatalog, logger: Logger, mediaId = 'med_fake1'): Promise<FakeMedia> {
    const kv = await nc.jetstream().views.kv(BUCKETS.sessions, { history: 1 });
    const media = new FakeMedia(nc, kv, catalog, logger, mediaId);
    media.listen();
    return media;
  }

  private listen(): void {
    const { nc, logger } = this;
    this.subs.push(
      serve(nc, rpc.media.createSession, (req) => this.create(req.sessionId, req.offer), { logger }),
      serve(nc, rpc.media.createSessionOn, (req) => this.create(req.sessionId, req.offer), { id: this.mediaId, logger }),
      serve(
        nc,
        rpc.media.closeSession,
        async (req) => {
          const entry = await this.kv.get(req.sessionId);
          if (!entry || entry.operation !== 'PUT') throw new ServiceError('NO_SUCH_SESSION', `no session ${req.sessionId}`);
          const recordingId = this.recordingOf.get(req.sessionId);
          if (recordingId) await this.stopRecording(req.sessionId, recordingId, 'requested');
          await this.kv.delete(req.sessionId);
          this.sessions.delete(req.sessionId);
          this.closedSessions.push(req.sessionId);
          publishEvent(nc, subjects.events.session(req.sessionId), SessionEventSchema, {
            type: 'closed',
            sessionId: req.sessionId,
            mediaId: this.mediaId,
            reason: 'requested',
            at: new Date().toISOString(),
          });
          return { sessionId: req.sessionId, closed: true };
        },
        { id: this.mediaId, logger },
      ),
      serve(nc, rpc.media.startRecording, (req) => this.startRecording(req.sessionId, req.recordingId, req.container ?? 'mp4', req.audioCodec ?? 'aac'), {
        id: this.mediaId,
        logger,
      }),
      serve(nc, rpc.media.stopRecording, (req) => this.stopRecording(req.sessionId, req.recordingId, req.reason), { id: this.mediaId, logger }),
      serve(
        nc,
        rpc.media.ping,
        async () => ({
          mediaId: this.mediaId,
          sessions: this.sessions.size,
          recordings: this.recordingOf.size,
          capacity: this.behaviour.capacity,
          ...(this.behaviour.load !== undefined ? { load: this.behaviour.load } : {}),
        }),
        { logger },
      ),
    );
  }

  private async create(sessionId: string, offer: string): Promise<CreateSessionReply> {
    await this.behaviour.beforeCreate?.(offer);
    if (!offer.includes('a=rtpmap:')) throw new BadRequestError('the offer has no codec (no a=rtpmap line)');
    if (this.sessions.size >= this.behaviour.capacity)
      throw new ServiceError('AT_CAPACITY', `${this.mediaId} holds its maximum of ${this.behaviour.capacity} sessions`);
    this.sessions.add(sessionId);
    await this.kv.put(sessionId, encodeJson({ sessionId, mediaId: this.mediaId, tracks: this.behaviour.tracks, createdAt: new Date().toISOString() }));
    publishEvent(this.nc, subjects.events.session(sessionId), SessionEventSchema, {
      type: 'connected',
      sessionId,
      mediaId: this.mediaId,
      at: new Date().toISOString(),
    });
    return { sessionId, mediaId: this.mediaId, answer: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n', tracks: this.behaviour.tracks };
  }

  private async startRecording(
    sessionId: string,
    recordingId: string,
    container: 'mp4' | 'webm' | 'mkv',
    audioCodec: 'aac' | 'opus',
  ): Promise<StartRecordingReply> {
    this.startRequests.push(recordingId);
    await this.behaviour.beforeStart?.();
    if (this.behaviour.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.behaviour.startDelayMs));
    if (this.recordingOf.has(sessionId)) throw new ServiceError('ALREADY_RECORDING', `session ${sessionId} is already recording`);
    const session = await this.kv.get(sessionId);
    if (!session || session.operation !== 'PUT') throw new ServiceError('NO_SUCH_SESSION', `no session ${sessionId}`);
    this.recordingOf.set(sessionId, recordingId);
    const tracks = [
      { kind: 'video' as const, codec: 'h264' as const, payloadType: 96, clockRate: 90000, port: 50000 },
      { kind: 'audio' as const, codec: 'opus' as const, payloadType: 111, clockRate: 48000, channels: 2, port: 50002 },
    ];
    try {
      const listening = await call(this.nc, rpc.recorder.start, { recordingId, sessionId, tracks, container, audioCodec }, { timeoutMs: 5000 });
      await this.catalog.update(recordingId, (r) => markPlaced(r, listening.recorderId, new Date()));
      return {
        recordingId,
        recorderId: listening.recorderId,
        container,
        audioCodec,
        fileName: listening.fileName,
        tracks: tracks.map((t) => ({ kind: t.kind, codec: t.codec, port: t.port })),
      };
    } catch (err) {
      this.recordingOf.delete(sessionId);
      throw err;
    }
  }

  private async stopRecording(sessionId: string, recordingId: string, reason: RecordingReport['reason']): Promise<RecordingReport> {
    if (this.recordingOf.get(sessionId) !== recordingId) throw new ServiceError('NO_SUCH_RECORDING', `no recording ${recordingId} here`);
    await this.behaviour.beforeStop?.();
    const entry = await this.catalog.get(recordingId);
    const report = await call(this.nc, rpc.recorder.stop, { recordingId, reason }, { id: entry?.recorderId ?? 'rcd_unknown', timeoutMs: 5000 });
    this.recordingOf.delete(sessionId);
    return report;
  }

  /** Stops answering; resolves once the server has seen it (so no request is routed here any more). */
  async close(): Promise<void> {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    await this.nc.flush();
  }

  /** Answers again after close(); the sessions bucket and state are kept. */
  async reopen(): Promise<void> {
    await this.close();
    this.listen();
    await this.nc.flush();
  }
}
