import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { COST_UNITS_PER_CORE, EngineSchema, IdSchema, StorageKindSchema, type Engine, type RecordingCostTable, type StorageKind } from '@recstack/contracts';
import { ConfigError, env, loadEnv, natsEnvSchema, natsSettings, newId, type NatsSettings } from '@recstack/service-kit';
import { applyCostOverrides, defaultCostTable } from './admission/cost-table.js';
import type { VerifyMode } from './verification/verification-queue.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** The only place the recorder reads its environment. */
const RecorderEnvSchema = natsEnvSchema
  .extend({
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
    /**
     * what SIGTERM does to running recordings: `handover` asks media to move them to another recorder (when
     * one has room; otherwise they are finished here), `finish` finalizes them here (they end, reason shutdown).
     * Default handover, with either storage: STORAGE=local keeps the segment files in the shared folder,
     * STORAGE=nats puts a handed-over segment into the object store, where the joining recorder fetches it
     */
    RECORDER_DRAIN: z.enum(['handover', 'finish']).default('handover'),
    /** how long a drain waits for media to take the recordings over before finishing the rest here */
    RECORDER_HANDOVER_WAIT_SECONDS: env.seconds(10),
    /** longest recording; MP4 reserves its crash-safe index for this long, and the recording ends there */
    RECORDER_MAX_DURATION_SECONDS: env.seconds(4 * 3600),
    /** rtpbin jitter buffer latency: how long a late or reordered packet is waited for */
    RECORDER_JITTER_LATENCY_MS: env.int(200, 0, 5000),
    /**
     * GStreamer jitter buffer: `synced` keeps every frame's capture time (its RTP timestamp); `slave` follows
     * a sender clock drifting from ours (frames re-timed by arrival, by a few ms), for senders whose clock
     * drifts more than the jitter latency over a recording
     */
    RECORDER_JITTER_MODE: z.enum(['synced', 'slave']).default('synced'),
    /**
     * the background verification of finished files: `full` decode, `keyframes` only (`-skip_frame nokey`,
     * cheap: every packet read, one frame per GOP decoded), or `off`
     */
    RECORDER_VERIFY: z.enum(['full', 'keyframes', 'off']).default('full'),
    /** verifications at once (each at nice 19, I/O class idle) */
    RECORDER_VERIFY_CONCURRENCY: env.int(1, 1, 16),
    /** how long one verification may decode; past it the rest is only read (fileCheck scope: partial) */
    RECORDER_DECODE_CHECK_TIMEOUT: env.seconds(120),
    /** niceness added to the recording children (gst-launch, ffmpeg): media's ingest comes first */
    RECORDER_CHILD_NICE: env.int(5, 0, 19),
    /**
     * what this recorder takes at once, in cost units (1/100 % of a core; an AAC recording costs ~436, one
     * with Opus copied ~236); default: the cores × RECORDER_MAX_CPU
     */
    RECORDER_CAPACITY_UNITS: env.int(0, 0, 100_000_000),
    /** no new recording while the machine (or the cgroup's CPU quota) is busier than this, in % (100: no CPU rule) */
    RECORDER_MAX_CPU: env.int(85, 1, 100),
    /** the window over which that CPU figure is measured */
    RECORDER_CPU_WINDOW_MS: env.int(2000, 200, 60_000),
    /** overrides of the cost table, `key=units,...` with keys base, h264, vp8, vp9, av1, opus, aac, mp4, webm, mkv, kbps */
    RECORDER_COSTS: z.string().default(''),
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
    /**
     * STORAGE=nats: the object store's max_bytes (0: no limit of its own). Keep it under the NATS server's
     * JetStream storage, minus room for the catalog and session buckets, so a full store never blocks them
     */
    STORAGE_MAX_BYTES: env.bytes(4 * GIB),
    /** a start is refused (INSUFFICIENT_STORAGE) while RECORDINGS_DIR has less free space than this */
    RECORDER_MIN_FREE_BYTES: env.bytes(GIB),
    /** running recordings are finalized (`disk-full`) once RECORDINGS_DIR has less free space than this */
    RECORDER_STOP_FREE_BYTES: env.bytes(256 * MIB),
    /** one file is finalized (`max-size`) before it grows past this (0: no limit) */
    RECORDER_MAX_FILE_BYTES: env.bytes(16 * GIB),
    /** how often this recorder looks for recordings whose recorder died (every instance does; claims make it safe) */
    RECORDER_RECONCILE_INTERVAL_SECONDS: env.seconds(30),
    /** an open recording whose recorder and media have both been gone this long is marked failed */
    RECORDER_RECONCILE_GRACE_SECONDS: env.seconds(60),
    OPS_HOST: env.string('127.0.0.1'),
    OPS_PORT: env.port(9102),
    GST_LAUNCH_PATH: env.string('gst-launch-1.0'),
    FFMPEG_PATH: env.string('ffmpeg'),
    FFPROBE_PATH: env.string('ffprobe'),
  })
  .superRefine((v, ctx) => {
    if (v.RECORDER_STOP_FREE_BYTES > v.RECORDER_MIN_FREE_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['RECORDER_STOP_FREE_BYTES'],
        message: 'must not be above RECORDER_MIN_FREE_BYTES (a recording would end as soon as it started)',
      });
    }
  });

/**
 * Every variable recorder reads, with its default and validation: `@recstack/recorder/config` exports it, and
 * deploy/tools checks the manifests against it.
 */
export const envSchema = RecorderEnvSchema;

export interface RecorderConfig {
  service: 'recorder';
  nats: NatsSettings;
  logLevel: z.infer<typeof RecorderEnvSchema>['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  recorderId: string;
  /** RECORDER_ID was set (a restart may find what a predecessor with the same id left) rather than generated */
  recorderIdConfigured: boolean;
  recordingsDir: string;
  host: string;
  bindAddress: string;
  engine: Engine;
  maxRecordings: number;
  rtpTimeoutMs: number;
  stopTimeoutMs: number;
  drain: { mode: 'handover' | 'finish'; handoverWaitMs: number };
  maxDurationMs: number;
  jitterLatencyMs: number;
  jitterMode: 'synced' | 'slave';
  decodeCheckTimeoutMs: number;
  verify: { mode: VerifyMode; concurrency: number };
  childNice: number;
  admission: { capacityUnits: number; maxCpuPercent: number; cpuWindowMs: number; costs: RecordingCostTable };
  listenTimeoutMs: number;
  storage: {
    kind: StorageKind;
    uploadWaitMs: number;
    retryMaxMs: number;
    /** the object store's max_bytes; 0: none */
    maxBytes: number;
  };
  disk: { minFreeBytes: number; stopFreeBytes: number; maxFileBytes: number };
  kvReplicas: number;
  reconcile: { intervalMs: number; graceMs: number };
  ops: { host: string; port: number };
  binaries: { gstLaunch: string; ffmpeg: string; ffprobe: string };
}

export function loadConfig(source: Record<string, string | undefined> = process.env): RecorderConfig {
  const v = loadEnv(RecorderEnvSchema, source);
  const ms = (seconds: number) => Math.round(seconds * 1000);
  const costs = applyCostOverrides(defaultCostTable(v.RECORDER_ENGINE), v.RECORDER_COSTS);
  if (!costs.ok) throw new ConfigError(costs.problems.map((p) => `RECORDER_COSTS: ${p}`));
  const capacityUnits = v.RECORDER_CAPACITY_UNITS || Math.round((availableParallelism() * COST_UNITS_PER_CORE * v.RECORDER_MAX_CPU) / 100);
  return {
    service: 'recorder',
    nats: natsSettings(v, 'recorder'),
    logLevel: v.LOG_LEVEL,
    shutdownTimeoutMs: ms(v.SHUTDOWN_TIMEOUT_SECONDS),
    recorderId: v.RECORDER_ID ?? newId('rcd'),
    recorderIdConfigured: v.RECORDER_ID !== undefined,
    recordingsDir: resolve(v.RECORDINGS_DIR),
    host: v.RECORDER_HOST,
    bindAddress: v.RECORDER_BIND_ADDRESS,
    engine: v.RECORDER_ENGINE,
    maxRecordings: v.MAX_RECORDINGS,
    rtpTimeoutMs: ms(v.RECORDER_RTP_TIMEOUT),
    stopTimeoutMs: ms(v.RECORDER_STOP_TIMEOUT),
    drain: { mode: v.RECORDER_DRAIN, handoverWaitMs: ms(v.RECORDER_HANDOVER_WAIT_SECONDS) },
    maxDurationMs: ms(v.RECORDER_MAX_DURATION_SECONDS),
    jitterLatencyMs: v.RECORDER_JITTER_LATENCY_MS,
    jitterMode: v.RECORDER_JITTER_MODE,
    decodeCheckTimeoutMs: ms(v.RECORDER_DECODE_CHECK_TIMEOUT),
    verify: { mode: v.RECORDER_VERIFY, concurrency: v.RECORDER_VERIFY_CONCURRENCY },
    childNice: v.RECORDER_CHILD_NICE,
    admission: { capacityUnits, maxCpuPercent: v.RECORDER_MAX_CPU, cpuWindowMs: v.RECORDER_CPU_WINDOW_MS, costs: costs.table },
    listenTimeoutMs: ms(v.RECORDER_LISTEN_TIMEOUT),
    storage: {
      kind: v.STORAGE,
      uploadWaitMs: ms(v.STORAGE_UPLOAD_WAIT_SECONDS),
      retryMaxMs: ms(v.STORAGE_UPLOAD_RETRY_MAX_SECONDS),
      maxBytes: v.STORAGE_MAX_BYTES,
    },
    disk: { minFreeBytes: v.RECORDER_MIN_FREE_BYTES, stopFreeBytes: v.RECORDER_STOP_FREE_BYTES, maxFileBytes: v.RECORDER_MAX_FILE_BYTES },
    kvReplicas: v.NATS_KV_REPLICAS,
    reconcile: { intervalMs: ms(v.RECORDER_RECONCILE_INTERVAL_SECONDS), graceMs: ms(v.RECORDER_RECONCILE_GRACE_SECONDS) },
    ops: { host: v.OPS_HOST, port: v.OPS_PORT },
    binaries: { gstLaunch: v.GST_LAUNCH_PATH, ffmpeg: v.FFMPEG_PATH, ffprobe: v.FFPROBE_PATH },
  };
}
