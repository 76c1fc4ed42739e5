/**
 * Test support, not product code: the recorder service as a real process next to a real nats-server, with
 * helpers to talk to it over NATS the way media does, and to look into the files it writes.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { connect, type NatsConnection, type Subscription } from 'nats';
import {
  RecordingEventSchema,
  RecordingVerifiedEventSchema,
  rpc,
  subjects,
  type Container,
  type OutputAudioCodec,
  type RecorderListening,
  type RecorderPong,
  type RecorderStartRequest,
  type Recording,
  type RecordingEvent,
  type RecordingReport,
  type RecordingVerifiedEvent,
  type RtpTrackSpec,
  type StopReason,
} from '@recstack/contracts';
import { RecordingCatalog, newRecording } from '@recstack/catalog';
import { call, createLogger, gather, newId } from '@recstack/service-kit';
import { freeTcpPort, freeUdpRange, startNatsServer, startService, type ServiceProcess, type TestNatsServer } from '@recstack/testkit';

export interface RecorderHarness {
  nats: TestNatsServer;
  nc: NatsConnection;
  catalog: RecordingCatalog;
  dir: string;
  recorderId: string;
  opsPort: number;
  /** the environment the recorder was started with */
  env: Record<string, string>;
  service: ServiceProcess;
  start(req: RecorderStartRequest, timeoutMs?: number): Promise<RecorderListening>;
  stop(recordingId: string, reason?: StopReason, timeoutMs?: number): Promise<RecordingReport>;
  ping(): Promise<RecorderPong[]>;
  /** events of one recording, collected from before the start */
  watch(recordingId: string): EventLog;
  /** a catalog entry as signaling creates it, so the recorder's catalog writes can be checked */
  createEntry(recordingId: string, container: Container, audioCodec: OutputAudioCodec | null): Promise<void>;
  entry(recordingId: string): Promise<Recording | undefined>;
  /** polls the catalog entry until `match` holds (the recorder writes it right after its event) */
  entryWhen(recordingId: string, match: (r: Recording) => boolean, timeoutMs?: number): Promise<Recording>;
  /** restarts the recorder process with the same environment (after a test stopped it) */
  restart(extraEnv?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface EventLog {
  events: RecordingEvent[];
  next<T extends RecordingEvent['type']>(type: T, timeoutMs?: number): Promise<Extract<RecordingEvent, { type: T }>>;
  /** the background verification's `recording.verified` event */
  verified(timeoutMs?: number): Promise<RecordingVerifiedEvent>;
  close(): void;
}

const logger = createLogger('recorder-test', 'silent');
const runTool = promisify(execFile);

export async function startRecorderHarness(env: Record<string, string> = {}): Promise<RecorderHarness> {
  // the recorder connects as its own NATS user (the stack's permissions); the harness's client has no limits
  const nats = await startNatsServer({ serviceUsers: true });
  const credentials = nats.credentials('recorder');
  const dir = await mkdtemp(join(tmpdir(), 'recstack-recorder-'));
  const recorderId = newId('rcd');
  const opsPort = await freeTcpPort();
  // no CPU rule unless a test asks for one: the machine running the tests is shared, and a start refused
  // because of someone else's load would fail tests about something else (admission is tested on its own)
  const baseEnv = {
    NATS_URL: nats.url,
    ...(credentials ? { NATS_USER: credentials.user, NATS_PASSWORD: credentials.password } : {}),
    RECORDINGS_DIR: dir,
    RECORDER_ID: recorderId,
    OPS_PORT: String(opsPort),
    RECORDER_MAX_CPU: '100',
    ...env,
  };
  let service: ServiceProcess;
  try {
    service = await startService('recorder', baseEnv);
  } catch (err) {
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const nc = await connect({ servers: nats.url });
  const catalog = await RecordingCatalog.open(nc, logger);
  const logs: EventLog[] = [];
  const harness: RecorderHarness = {
    nats,
    nc,
    catalog,
    dir,
    recorderId,
    opsPort,
    env: baseEnv,
    service,
    start: (req, timeoutMs = 15_000) => call(nc, rpc.recorder.start, req, { timeoutMs }),
    stop: (recordingId, reason = 'requested', timeoutMs = 60_000) => call(nc, rpc.recorder.stop, { recordingId, reason }, { id: recorderId, timeoutMs }),
    ping: () => gather(nc, rpc.recorder.ping, {}, 500),
    watch: (recordingId) => {
      const log = watchEvents(nc, recordingId);
      logs.push(log);
      return log;
    },
    createEntry: async (recordingId, container, audioCodec) => {
      await catalog.create(newRecording({ id: recordingId, sessionId: 'ses_test', mediaId: null, container, audioCodec, at: new Date() }));
    },
    entry: (recordingId) => catalog.get(recordingId),
    entryWhen: async (recordingId, match, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const entry = await catalog.get(recordingId);
        if (entry && match(entry)) return entry;
        if (Date.now() > deadline) throw new Error(`catalog entry ${recordingId} never matched: ${JSON.stringify(entry)}`);
        await delay(100);
      }
    },
    restart: async (extraEnv = {}) => {
      await harness.service.stop('SIGKILL');
      harness.service = await startService('recorder', { ...baseEnv, ...extraEnv });
    },
    close: async () => {
      for (const log of logs) log.close();
      await harness.service.stop('SIGTERM', 60_000);
      await nc.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

function watchEvents(nc: NatsConnection, recordingId: string): EventLog {
  const events: RecordingEvent[] = [];
  const waiters: Array<{ type: string; resolve: (e: RecordingEvent) => void }> = [];
  const sub: Subscription = nc.subscribe(subjects.events.recording(recordingId), {
    callback: (_err, msg) => {
      const parsed = RecordingEventSchema.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
      if (!parsed.success) return;
      events.push(parsed.data);
      for (const w of waiters.filter((w) => w.type === parsed.data.type)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed.data);
      }
    },
  });
  let verifiedEvent: RecordingVerifiedEvent | undefined;
  const verifiedWaiters: Array<(e: RecordingVerifiedEvent) => void> = [];
  const verifiedSub: Subscription = nc.subscribe(subjects.events.recordingVerified(recordingId), {
    callback: (_err, msg) => {
      const parsed = RecordingVerifiedEventSchema.safeParse(JSON.parse(new TextDecoder().decode(msg.data)));
      if (!parsed.success) return;
      verifiedEvent = parsed.data;
      for (const resolve of verifiedWaiters.splice(0)) resolve(parsed.data);
    },
  });
  return {
    events,
    verified: (timeoutMs = 60_000) => {
      if (verifiedEvent) return Promise.resolve(verifiedEvent);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no verified event for ${recordingId} within ${timeoutMs} ms`)), timeoutMs);
        verifiedWaiters.push((e) => {
          clearTimeout(timer);
          resolve(e);
        });
      });
    },
    next: (type, timeoutMs = 15_000) => {
      const seen = events.find((e) => e.type === type);
      if (seen) return Promise.resolve(seen as never);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${type} event for ${recordingId} within ${timeoutMs} ms (saw ${events.map((e) => e.type).join(', ') || 'none'})`)),
          timeoutMs,
        );
        waiters.push({
          type,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e as never);
          },
        });
      });
    },
    close: () => {
      sub.unsubscribe();
      verifiedSub.unsubscribe();
    },
  };
}

/** RTP ports for a recording: `count` tracks, each with its RTCP port next to it. */
export async function rtpPorts(count: number): Promise<number[]> {
  const range = await freeUdpRange(count * 2);
  return Array.from({ length: count }, (_, i) => range.min + 2 * i);
}

export function videoTrack(codec: 'h264' | 'vp8' | 'vp9' | 'av1', port: number, payloadType = 96): RtpTrackSpec {
  const spec: RtpTrackSpec = { kind: 'video', codec, payloadType, clockRate: 90000, port };
  if (codec === 'h264') spec.fmtp = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';
  return spec;
}

export function audioTrack(port: number, payloadType = 111): RtpTrackSpec {
  return { kind: 'audio', codec: 'opus', payloadType, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', port };
}

export function startRequest(tracks: RtpTrackSpec[], container: Container, audioCodec: OutputAudioCodec | null): RecorderStartRequest {
  return { recordingId: newId('rec'), sessionId: newId('ses'), tracks, container, audioCodec };
}

/** The top-level boxes of an MP4 file, in order (to check where the index is). */
export async function topLevelBoxes(path: string): Promise<string[]> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const boxes: string[] = [];
    let offset = 0;
    const header = Buffer.alloc(16);
    while (offset + 8 <= size && boxes.length < 64) {
      await file.read(header, 0, 16, offset);
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (boxSize === 1) boxSize = Number(header.readBigUInt64BE(8));
      else if (boxSize === 0) boxSize = size - offset;
      if (boxSize < 8) break;
      boxes.push(type);
      offset += boxSize;
    }
    return boxes;
  } finally {
    await file.close();
  }
}

/** Milliseconds from the first to the last decoded video frame of a file. */
export async function videoSpanMs(path: string): Promise<number> {
  const { stdout } = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const times = stdout
    .split('\n')
    .map((l) => Number.parseFloat(l))
    .filter((t) => Number.isFinite(t));
  if (times.length === 0) return 0;
  return Math.round((Math.max(...times) - Math.min(...times)) * 1000);
}

/** Distinct WxH of the decoded video frames. */
export async function frameSizes(path: string): Promise<string[]> {
  const { stdout } = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=width,height', '-of', 'csv=p=0', path], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return [
    ...new Set(
      stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => l.replace(',', 'x')),
    ),
  ];
}

/** The pid of a recording's child process, from the recorder's log. */
export async function childPid(harness: RecorderHarness, recordingId: string): Promise<number> {
  const line = await harness.service.waitForLog((l) => l.msg === 'recording process started' && l.recordingId === recordingId, 10_000);
  const pid = line.childPid;
  if (typeof pid !== 'number') throw new Error('no pid in the recorder log');
  return pid;
}

/** Whether a process with this pid exists (and is not a zombie). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** The integration tests' pause (node:timers/promises under the name they import). */
export function delay(ms: number): Promise<void> {
  return sleep(ms);
}
