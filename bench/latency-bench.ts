import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { RecordingEventSchema, rpc, subjects, type Engine, type OutputAudioCodec, type RecordingEvent } from '@recstack/contracts';
import { call, newId } from '@recstack/service-kit';
import { RtpReplay, freeTcpPort, freeUdpRange, startNatsServer, startService, type RtpDump, type ServiceProcess, type TestNatsServer } from '@recstack/testkit';
import { benchStartRequest } from './subjects.js';

export interface LatencyRun {
  /** start request sent → `listening` reply (sockets bound, pipeline playing) */
  listenMs: number;
  /** start request sent → `first-keyframe` event */
  firstKeyframeMs: number;
  /** stop request sent → the finalized report (EOS, index rewrite, probe, full decode) */
  stopMs: number;
  status: string;
  durationMs: number;
}

export interface LatencyResult {
  id: string;
  label: string;
  engine: Engine;
  audioCodec: OutputAudioCodec;
  recordSeconds: number;
  runs: LatencyRun[];
  failures: string[];
}

export interface LatencyCase {
  engine: Engine;
  audioCodec: OutputAudioCodec;
  /** extra recorder environment, e.g. a shorter RECORDER_JITTER_LATENCY_MS */
  env?: Record<string, string>;
}

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 60_000;
const KEYFRAME_TIMEOUT_MS = 10_000;

/**
 * The real recorder service over NATS, driven the way media drives it: start request → `listening`
 * reply → RTP starts flowing (the replay begins with a keyframe, like a publisher answering the keyframe
 * request at once) → `first-keyframe` event; after `recordSeconds` the RTP stops and a stop request
 * waits for the finalized report. One recorder process per case, `runs` recordings one after another.
 */
export async function measureLatency(
  testCase: LatencyCase,
  dump: RtpDump,
  runs: number,
  recordSeconds: number,
  log: (line: string) => void,
): Promise<LatencyResult> {
  const extra = Object.entries(testCase.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const result: LatencyResult = {
    id: `ours-${testCase.engine === 'gstreamer' ? 'gst' : 'ffmpeg'}-${testCase.audioCodec}${extra.length > 0 ? `/${extra.join(',')}` : ''}`,
    label: `ours: ${testCase.engine} (${testCase.audioCodec === 'aac' ? 'Opus→AAC' : 'Opus copied'}, MP4${extra.length > 0 ? `, ${extra.join(', ')}` : ''})`,
    engine: testCase.engine,
    audioCodec: testCase.audioCodec,
    recordSeconds,
    runs: [],
    failures: [],
  };
  const recorderId = newId('rcd');
  let nats: TestNatsServer | undefined;
  let service: ServiceProcess | undefined;
  let nc: NatsConnection | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'recstack-bench-latency-'));
  try {
    nats = await startNatsServer();
    service = await startService('recorder', {
      RECORDER_ID: recorderId,
      NATS_URL: nats.url,
      RECORDINGS_DIR: dir,
      OPS_PORT: String(await freeTcpPort()),
      RECORDER_ENGINE: testCase.engine,
      LOG_LEVEL: 'info',
      ...testCase.env,
    });
    nc = await connect({ servers: nats.url });
    for (let i = 0; i < runs; i++) {
      try {
        result.runs.push(await oneRun(nc, recorderId, testCase, dump, recordSeconds));
      } catch (err) {
        result.failures.push(err instanceof Error ? err.message : String(err));
      }
      log(`  ${result.id}: run ${i + 1}/${runs}${result.failures.length > 0 ? ` (${result.failures.length} failed)` : ''}`);
    }
  } finally {
    await nc?.close();
    await service?.stop('SIGTERM', 60_000);
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

async function oneRun(nc: NatsConnection, recorderId: string, testCase: LatencyCase, dump: RtpDump, recordSeconds: number): Promise<LatencyRun> {
  const range = await freeUdpRange(4);
  const ports = { video: range.min, audio: range.min + 2 };
  const req = benchStartRequest(ports, testCase.audioCodec);
  const firstKeyframe = nextEvent(nc, req.recordingId, 'first-keyframe', KEYFRAME_TIMEOUT_MS + START_TIMEOUT_MS);
  let replay: RtpReplay | undefined;
  try {
    const t0 = performance.now();
    await call(nc, rpc.recorder.start, req, { timeoutMs: START_TIMEOUT_MS });
    const listenMs = performance.now() - t0;
    replay = new RtpReplay(dump, { host: '127.0.0.1', videoPort: ports.video, audioPort: ports.audio }, recordSeconds);
    await firstKeyframe.promise;
    const firstKeyframeMs = performance.now() - t0;
    await replay.done;
    const t1 = performance.now();
    const report = await call(
      nc,
      rpc.recorder.stop,
      { recordingId: req.recordingId, reason: 'requested' },
      {
        id: recorderId,
        timeoutMs: STOP_TIMEOUT_MS,
      },
    );
    const stopMs = performance.now() - t1;
    if (report.status !== 'done') throw new Error(`recording ${req.recordingId} ended ${report.status}: ${JSON.stringify(report.error)}`);
    return { listenMs, firstKeyframeMs, stopMs, status: report.status, durationMs: report.durationMs };
  } finally {
    firstKeyframe.cancel();
    await replay?.stop();
  }
}

function nextEvent(
  nc: NatsConnection,
  recordingId: string,
  type: RecordingEvent['type'],
  timeoutMs: number,
): { promise: Promise<RecordingEvent>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const sub = nc.subscribe(subjects.events.recording(recordingId));
  const promise = new Promise<RecordingEvent>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${type} event for ${recordingId} within ${timeoutMs} ms`)), timeoutMs);
    void (async () => {
      for await (const msg of sub) {
        const parsed = RecordingEventSchema.safeParse(msg.json());
        if (parsed.success && parsed.data.type === type) {
          resolve(parsed.data);
          return;
        }
      }
    })();
  });
  promise.catch(() => undefined);
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
      sub.unsubscribe();
    },
  };
}
