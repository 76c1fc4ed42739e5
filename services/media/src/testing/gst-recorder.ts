/**
 * Test support, not product code: a stand-in for the recorder service that answers the recorder's NATS
 * contract with real GStreamer. Each start request runs a gst-launch-1.0 pipeline that binds exactly the
 * requested ports (RTP and RTCP), so PORT_IN_USE is a real bind failure; the first keyframe is seen on
 * the depayloaded stream and announced like the real recorder does; a stop is EOS, exit and an ffprobe.
 * Tests can make it refuse starts (AT_CAPACITY) or end a recording on its own (like an RTP timeout).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection, Subscription } from 'nats';
import {
  RecordingEventSchema,
  rpc,
  subjects,
  type RecordedTrack,
  type RecorderListening,
  type RecorderPong,
  type RecorderStartRequest,
  type RecorderStopRequest,
  type RecordingReport,
  type RtpTrackSpec,
  type StopReason,
} from '@recstack/contracts';
import { ServiceError, createLogger, publishEvent, serve } from '@recstack/service-kit';
import { probe } from '@recstack/testkit';

const DEPAY: Record<string, string> = {
  h264: 'rtph264depay ! h264parse',
  vp8: 'rtpvp8depay',
  vp9: 'rtpvp9depay',
  opus: 'rtpopusdepay ! opusparse',
};

/** gst-launch arguments for a Matroska file fed by the requested tracks; RTCP ports are bound too. */
export function gstArguments(req: RecorderStartRequest, host: string, path: string): string[] {
  const args = ['-e', '-v', 'matroskamux', 'name=mux', '!', 'filesink', `location=${path}`];
  for (const t of req.tracks) {
    const depay = DEPAY[t.codec];
    if (!depay) throw new ServiceError('UNSUPPORTED_CODEC', `the test recorder cannot record ${t.codec}`);
    const caps = `caps=application/x-rtp,media=${t.kind},clock-rate=${t.clockRate},encoding-name=${t.codec.toUpperCase()},payload=${t.payloadType}`;
    args.push('udpsrc', `address=${host}`, `port=${t.port}`, caps, '!', 'rtpjitterbuffer', 'latency=200', '!', ...depay.split(' '));
    if (t.kind === 'video') args.push('!', 'identity', 'name=firstframe', 'silent=false');
    args.push('!', 'queue', '!', 'mux.');
    args.push('udpsrc', `address=${host}`, `port=${t.port + 1}`, '!', 'fakesink', 'sync=false', 'async=false');
  }
  return args;
}

interface Running {
  req: RecorderStartRequest;
  child: ChildProcess;
  path: string;
  fileName: string;
  output: string[];
  exited: Promise<number | null>;
  startedAt: Date | undefined;
  ending: Promise<RecordingReport> | undefined;
}

export interface GstRecorderOptions {
  dir: string;
  recorderId?: string;
  host?: string;
  /** the address its listening reply names, when it is not `host` (a recorder lying about where to send RTP) */
  announcedHost?: string;
  /** called before each start; throw a ServiceError to refuse it */
  beforeStart?: (req: RecorderStartRequest, attempt: number) => void | Promise<void>;
}

export class GstRecorder {
  readonly recorderId: string;
  readonly startRequests: RecorderStartRequest[] = [];
  readonly stopRequests: RecorderStopRequest[] = [];
  readonly reports: RecordingReport[] = [];
  private readonly running = new Map<string, Running>();
  private readonly subs: Subscription[] = [];
  private readonly host: string;
  private readonly logger = createLogger('test-recorder', 'silent');

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: GstRecorderOptions,
  ) {
    this.recorderId = options.recorderId ?? `rcd_test${Math.random().toString(36).slice(2, 10)}`;
    this.host = options.host ?? '127.0.0.1';
    this.subs.push(
      serve(nc, rpc.recorder.start, (r) => this.start(r), { logger: this.logger }),
      serve(nc, rpc.recorder.startOn, (r) => this.start(r), { id: this.recorderId, logger: this.logger }),
      serve(nc, rpc.recorder.stop, (r) => this.stop(r), { id: this.recorderId, logger: this.logger }),
      serve(nc, rpc.recorder.ping, async () => this.pong(), { logger: this.logger }),
      serve(nc, rpc.recorder.pingOne, async () => this.pong(), { id: this.recorderId, logger: this.logger }),
    );
  }

  private pong(): RecorderPong {
    return { recorderId: this.recorderId, engine: 'gstreamer', host: this.host, active: this.running.size, capacity: 16 };
  }

  activeIds(): string[] {
    return [...this.running.keys()];
  }

  /** Ends a recording as if its RTP had timed out: EOS, report, `finished` event, no request involved. */
  endOnItsOwn(recordingId: string, reason: StopReason = 'rtp-timeout'): Promise<RecordingReport> {
    const rec = this.running.get(recordingId);
    if (!rec) throw new Error(`no running recording ${recordingId}`);
    return this.finish(rec, reason);
  }

  /** Takes no more starts (the first two subscriptions), as a draining recorder does before it announces the drain. */
  stopTakingStarts(): void {
    for (const sub of this.subs.slice(0, 2)) if (!sub.isClosed()) sub.unsubscribe();
  }

  /** Stops answering (like a crashed recorder) and kills its pipelines. */
  async crash(): Promise<void> {
    this.unsubscribe();
    for (const rec of this.running.values()) rec.child.kill('SIGKILL');
    await Promise.all([...this.running.values()].map((r) => r.exited));
    this.running.clear();
  }

  async close(): Promise<void> {
    this.unsubscribe();
    for (const rec of this.running.values()) rec.child.kill('SIGKILL');
    await Promise.all([...this.running.values()].map((r) => r.exited));
    this.running.clear();
  }

  private unsubscribe(): void {
    for (const sub of this.subs) if (!sub.isClosed()) sub.unsubscribe();
  }

  private async start(req: RecorderStartRequest): Promise<RecorderListening> {
    this.startRequests.push(req);
    await this.options.beforeStart?.(req, this.startRequests.length);
    // a handover's later segment gets its own file, as the real recorder does
    const fileName = req.segment ? `${req.recordingId}-s${req.segment.index}.mkv` : `${req.recordingId}.mkv`;
    const path = join(this.options.dir, fileName);
    const child = spawn('gst-launch-1.0', gstArguments(req, this.host, path), { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const rec: Running = { req, child, path, fileName, output, exited, startedAt: undefined, ending: undefined };
    const playing = new Promise<boolean>((resolve) => {
      let keyframeSeen = false;
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.length === 0) continue;
          output.push(line);
          if (output.length > 400) output.shift();
          if (line.startsWith('Setting pipeline to PLAYING')) resolve(true);
          if (!keyframeSeen && line.includes('chain') && line.includes('(firstframe:sink)') && !line.includes('delta-unit')) {
            keyframeSeen = true;
            rec.startedAt = new Date();
            this.event({ type: 'first-keyframe', recordingId: req.recordingId, recorderId: this.recorderId, at: rec.startedAt.toISOString() });
          }
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      void exited.then(() => resolve(false));
    });
    if (!(await playing)) {
      const text = output.join('\n');
      if (/Address already in use/.test(text)) throw new ServiceError('PORT_IN_USE', `cannot bind ${req.tracks.map((t) => t.port).join(', ')}`);
      throw new ServiceError('RECORDER_FAILED', 'pipeline did not start');
    }
    this.running.set(req.recordingId, rec);
    const listening: RecorderListening = {
      recordingId: req.recordingId,
      recorderId: this.recorderId,
      host: this.options.announcedHost ?? this.host,
      ports: req.tracks.map((t: RtpTrackSpec) => t.port),
      fileName,
      engine: 'gstreamer',
    };
    this.event({ type: 'listening', recordingId: req.recordingId, recorderId: this.recorderId, at: new Date().toISOString() });
    return listening;
  }

  private async stop(req: RecorderStopRequest): Promise<RecordingReport> {
    this.stopRequests.push(req);
    const rec = this.running.get(req.recordingId);
    if (!rec) throw new ServiceError('NO_SUCH_RECORDING', `no recording ${req.recordingId}`);
    return this.finish(rec, req.reason);
  }

  private finish(rec: Running, reason: StopReason): Promise<RecordingReport> {
    rec.ending ??= (async () => {
      rec.child.kill('SIGINT');
      const timer = setTimeout(() => rec.child.kill('SIGKILL'), 10_000);
      await rec.exited;
      clearTimeout(timer);
      this.running.delete(rec.req.recordingId);
      const report = await this.report(rec, reason);
      this.reports.push(report);
      this.event({ type: 'finished', recordingId: rec.req.recordingId, report, at: new Date().toISOString() });
      return report;
    })();
    return rec.ending;
  }

  private async report(rec: Running, reason: StopReason): Promise<RecordingReport> {
    const base = {
      recordingId: rec.req.recordingId,
      sessionId: rec.req.sessionId,
      recorderId: this.recorderId,
      fileName: rec.fileName,
      container: 'mkv' as const,
      audioCodec: rec.req.tracks.some((t) => t.kind === 'audio') ? ('opus' as const) : null,
      startedAt: rec.startedAt?.toISOString() ?? null,
      stoppedAt: new Date().toISOString(),
      reason,
    };
    try {
      const [info, probed] = await Promise.all([stat(rec.path), probe(rec.path)]);
      const tracks: RecordedTrack[] = probed.streams
        .filter((s) => s.codec_type === 'audio' || s.codec_type === 'video')
        .map((s) => ({
          kind: s.codec_type as 'audio' | 'video',
          codec: s.codec_name,
          ...(s.width ? { width: s.width } : {}),
          ...(s.height ? { height: s.height } : {}),
        }));
      return { ...base, status: 'done', sizeBytes: info.size, durationMs: Math.round((probed.durationSec || 0) * 1000), tracks, decodesCleanly: true };
    } catch {
      return {
        ...base,
        status: 'failed',
        sizeBytes: 0,
        durationMs: 0,
        tracks: [],
        decodesCleanly: false,
        error: { code: 'FILE_INVALID', message: 'no playable file' },
      };
    }
  }

  private event(event: Parameters<typeof publishEvent<typeof RecordingEventSchema>>[3]): void {
    publishEvent(this.nc, subjects.events.recording(event.recordingId), RecordingEventSchema, event);
  }
}
