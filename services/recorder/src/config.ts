import { resolve } from 'node:path';
import { z } from 'zod';
import { EngineSchema, IdSchema, StorageKindSchema, type Engine, type StorageKind } from '@recstack/contracts';
import { env, loadEnv, natsEnvSchema, natsSettings, newId, type NatsSettings } from '@recstack/service-kit';

/** The only place the recorder reads its environment. */
const RecorderEnvSchema = natsEnvSchema.extend({
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_SECONDS: env.seconds(30),
  RECORDER_ID: IdSchema.optional(),
  RECORDINGS_DIR: env.string('./recordings'),
  /** the address media sends RTP to (announced in the listening reply) */
  RECORDER_HOST: env.string('127.0.0.1'),
  /** the address the recording sockets bind to (0.0.0.0 in containers) */
  RECORDER_BIND_ADDRESS: z.ipv4().default('127.0.0.1'),
  RECORDER_ENGINE: EngineSchema.default('gstreamer'),
  MAX_RECORDINGS: env.int(16, 1, 1000),
  /** seconds without RTP on every track before a recording is finalized on its own */
  RECORDER_RTP_TIMEOUT: env.seconds(10),
  /** seconds a stop step (EOS, then SIGTERM) may take before the next, harsher one */
  RECORDER_STOP_TIMEOUT: env.seconds(10),
  /** longest recording; MP4 reserves its crash-safe index for this long, and the recording ends there */
  RECORDER_MAX_DURATION_SECONDS: env.seconds(4 * 3600),
  /** rtpbin jitter buffer latency: how long a late or reordered packet is waited for */
  RECORDER_JITTER_LATENCY_MS: env.int(200, 0, 5000),
  /** how long the full decode of a finished file may take; past it the rest is only read (decodeCheck: partial) */
  RECORDER_DECODE_CHECK_TIMEOUT: env.seconds(20),
  /** how long a child may take to bind its sockets and reach PLAYING */
  RECORDER_LISTEN_TIMEOUT: env.seconds(10),
  /**
   * where finished files go: `local` (RECORDINGS_DIR, shared with signaling) or `nats` (the JetStream
   * object store; the local copy is removed once the upload is verified)
   */
  STORAGE: StorageKindSchema.default('local'),
  /** JetStream replicas of the buckets this service creates (catalog, recording files); 3 on a NATS cluster */
  NATS_KV_REPLICAS: env.int(1, 1, 5),
  /**
   * STORAGE=nats: how long a finished recording's report waits for its upload. Until then the catalog shows
   * `stopping`; an upload not verified by then is reported `done` with the file still local, and retried
   */
  STORAGE_UPLOAD_WAIT_SECONDS: env.seconds(15),
  /** STORAGE=nats: longest pause between two attempts at an upload that keeps failing (backoff from 1 s) */
  STORAGE_UPLOAD_RETRY_MAX_SECONDS: env.seconds(60),
  /** how often this recorder looks for recordings whose recorder died (every instance does; claims make it safe) */
  RECORDER_RECONCILE_INTERVAL_SECONDS: env.seconds(30),
  /** an open recording whose recorder and media have both been gone this long is marked failed */
  RECORDER_RECONCILE_GRACE_SECONDS: env.seconds(60),
  OPS_HOST: env.string('127.0.0.1'),
  OPS_PORT: env.port(9102),
  GST_LAUNCH_PATH: env.string('gst-launch-1.0'),
  FFMPEG_PATH: env.string('ffmpeg'),
  FFPROBE_PATH: env.string('ffprobe'),
});

export interface RecorderConfig {
  service: 'recorder';
  nats: NatsSettings;
  logLevel: z.infer<typeof RecorderEnvSchema>['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  recorderId: string;
  recordingsDir: string;
  host: string;
  bindAddress: string;
  engine: Engine;
  maxRecordings: number;
  rtpTimeoutMs: number;
  stopTimeoutMs: number;
  maxDurationMs: number;
  jitterLatencyMs: number;
  decodeCheckTimeoutMs: number;
  listenTimeoutMs: number;
  storage: {
    kind: StorageKind;
    uploadWaitMs: number;
    retryMaxMs: number;
  };
  kvReplicas: number;
  reconcile: { intervalMs: number; graceMs: number };
  ops: { host: string; port: number };
  binaries: { gstLaunch: string; ffmpeg: string; ffprobe: string };
}

export function loadConfig(source: Record<string, string | undefined> = process.env): RecorderConfig {
  const v = loadEnv(RecorderEnvSchema, source);
  const ms = (seconds: number) => Math.round(seconds * 1000);
  return {
    service: 'recorder',
    nats: natsSettings(v, 'recorder'),
    logLevel: v.LOG_LEVEL,
    shutdownTimeoutMs: ms(v.SHUTDOWN_TIMEOUT_SECONDS),
    recorderId: v.RECORDER_ID ?? newId('rcd'),
    recordingsDir: resolve(v.RECORDINGS_DIR),
    host: v.RECORDER_HOST,
    bindAddress: v.RECORDER_BIND_ADDRESS,
    engine: v.RECORDER_ENGINE,
    maxRecordings: v.MAX_RECORDINGS,
    rtpTimeoutMs: ms(v.RECORDER_RTP_TIMEOUT),
    stopTimeoutMs: ms(v.RECORDER_STOP_TIMEOUT),
    maxDurationMs: ms(v.RECORDER_MAX_DURATION_SECONDS),
    jitterLatencyMs: v.RECORDER_JITTER_LATENCY_MS,
    decodeCheckTimeoutMs: ms(v.RECORDER_DECODE_CHECK_TIMEOUT),
    listenTimeoutMs: ms(v.RECORDER_LISTEN_TIMEOUT),
    storage: { kind: v.STORAGE, uploadWaitMs: ms(v.STORAGE_UPLOAD_WAIT_SECONDS), retryMaxMs: ms(v.STORAGE_UPLOAD_RETRY_MAX_SECONDS) },
    kvReplicas: v.NATS_KV_REPLICAS,
    reconcile: { intervalMs: ms(v.RECORDER_RECONCILE_INTERVAL_SECONDS), graceMs: ms(v.RECORDER_RECONCILE_GRACE_SECONDS) },
    ops: { host: v.OPS_HOST, port: v.OPS_PORT },
    binaries: { gstLaunch: v.GST_LAUNCH_PATH, ffmpeg: v.FFMPEG_PATH, ffprobe: v.FFPROBE_PATH },
  };
}
