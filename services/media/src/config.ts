import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { IdSchema } from '@recstack/contracts';
import { env, loadEnv, natsEnvSchema, natsSettings, newId, type NatsSettings } from '@recstack/service-kit';
import { DEFAULT_RECORDER_NETWORKS, RecorderNetworks } from './placement/recorder-networks.js';

/** Medooze refuses a UDP port range narrower than this (RTPTransport::SetPortRange). */
export const MEDOOZE_MIN_PORT_RANGE = 50;

const udpPort = (fallback: number) => z.coerce.number().int().min(1024).max(65535).default(fallback);

const schema = natsEnvSchema
  .extend({
    LOG_LEVEL: env.logLevel(),
    SHUTDOWN_TIMEOUT_SECONDS: env.seconds(30),
    MEDIA_ID: IdSchema.optional(),
    /** the address announced in our ICE candidate: what publishers send their media to (Medooze's socket is IPv4) */
    MEDIA_PUBLIC_IP: z.ipv4({ message: 'must be an IPv4 address' }).default('127.0.0.1'),
    MEDIA_UDP_PORT_MIN: udpPort(40000),
    // MEDIA_ENDPOINTS + 4 × MAX_SESSIONS: a port per endpoint, and an RTP and an RTCP socket per track of every recording
    MEDIA_UDP_PORT_MAX: udpPort(40200),
    RECORDER_PORT_MIN: udpPort(50000),
    RECORDER_PORT_MAX: udpPort(50999),
    /** networks (comma-separated CIDRs) a recorder's RTP address must be in; a listening reply naming another is refused */
    RECORDER_ALLOWED_NETWORKS: z
      .string()
      .default(DEFAULT_RECORDER_NETWORKS.join(','))
      .transform((text, ctx) => {
        try {
          return RecorderNetworks.parse(text);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    MAX_SESSIONS: env.int(50, 1, 10_000),
    /**
     * Medooze endpoints (each its own UDP socket, port and receive thread); publishers are spread over them,
     * least loaded first. One socket read by one thread overflows under many publishers' keyframe bursts.
     */
    MEDIA_ENDPOINTS: env.int(availableParallelism(), 1, 64),
    /** ingest capacity in RTP packets per second received from publishers (all sessions); 0: no limit */
    MEDIA_MAX_PPS: env.int(0, 0, 10_000_000),
    /** refuse new sessions while the CPU of this machine (or of the cgroup's CPU limit) is above this percentage; 0: no limit */
    MEDIA_MAX_CPU: env.int(0, 0, 100),
    KEYFRAME_INTERVAL_MS: env.int(500, 50, 60_000),
    OPS_HOST: env.string('127.0.0.1'),
    OPS_PORT: z.coerce.number().int().min(0).max(65535).default(9101),
    /** how long one recorder.v1.start request may take (the recorder binds sockets and starts a pipeline; above its own listen timeout) */
    RECORDER_START_TIMEOUT_SECONDS: env.seconds(15),
    /** attempts at recorder.v1.start before giving up (PORT_IN_USE / AT_CAPACITY answers are retried) */
    RECORDER_START_ATTEMPTS: env.int(4, 1, 20),
    /** a stop waits this long for the recorder's report (it finalizes and probes the file first) */
    RECORDING_STOP_TIMEOUT_SECONDS: env.seconds(45),
    /** how long ports a recorder could not bind (or may still hold) are kept out of circulation */
    PORT_QUARANTINE_SECONDS: env.seconds(60),
    /**
     * how often the recorders of active recordings are checked to be alive (one small request per recorder);
     * a recorder that misses two checks in a row (the second 250 ms after the first) has its recordings
     * handed over to another one, so this bounds the gap a recorder crash leaves in a recording
     */
    RECORDER_CHECK_INTERVAL_SECONDS: env.seconds(1),
    /**
     * after its recorder stopped answering and no other recorder took the recording over (handover), it is
     * marked failed only if nobody has written its outcome
     * by then: a restarted recorder salvages the crash-safe file of its predecessor (its reconciliation runs
     * every RECORDER_RECONCILE_INTERVAL_SECONDS, 30)
     */
    RECORDER_LOST_GRACE_SECONDS: env.seconds(90),
    /**
     * how long the handover of a lost recorder's recording keeps asking while no recorder runs or has room (every
     * 500 ms): a recorder restarted at once (make run, a container's restart) is back within it and takes the
     * recording; 0: the recording ends RECORDER_UNAVAILABLE at once. Nothing is recorded meanwhile (a gap)
     */
    RECORDER_LOST_WAIT_SECONDS: z.coerce.number().min(0).max(600).default(20),
    /** lifetime of a sessions_v1 entry that is no longer refreshed (its media instance died) */
    SESSION_ENTRY_TTL_SECONDS: env.seconds(60),
    /** a connected publisher that sends no ICE consent check for this long is gone (Medooze's own limit is 30 s) */
    PUBLISHER_ICE_TIMEOUT_SECONDS: env.seconds(10),
    /** a session whose publisher has not completed ICE and DTLS this long after it was created is closed (ice-timeout) */
    PUBLISHER_CONNECT_TIMEOUT_SECONDS: env.seconds(10),
    /** JetStream replicas of the buckets media creates (sessions, catalog); 3 on a NATS cluster */
    NATS_KV_REPLICAS: env.int(1, 1, 5),
    /**
     * the most a publisher may send for video, in kbit/s (0: no cap): announced in the SDP answer and held by
     * the congestion feedback (REMB). Bounds what a recording costs in disk and bandwidth per second
     */
    MAX_VIDEO_KBPS: env.int(6000, 0, 1_000_000),
    /**
     * how long media holds later video packets back for a NACKed one from a publisher without RTX (it resends
     * on the media SSRC); with RTX Medooze waits max(200 ms, 3 × RTT) up to 750 ms on its own
     */
    MEDIA_NACK_WAIT_MS: env.int(600, 0, 5000),
    /** Medooze's own log lines on stdout (they are not JSON) */
    MEDOOZE_LOG: env.bool(false),
  })
  .superRefine((v, ctx) => {
    if (v.MEDIA_UDP_PORT_MAX - v.MEDIA_UDP_PORT_MIN < MEDOOZE_MIN_PORT_RANGE) {
      ctx.addIssue({
        code: 'custom',
        path: ['MEDIA_UDP_PORT_MAX'],
        message: `MEDIA_UDP_PORT_MAX - MEDIA_UDP_PORT_MIN must be at least ${MEDOOZE_MIN_PORT_RANGE} (Medooze needs that many ports)`,
      });
    }
    const firstEven = v.RECORDER_PORT_MIN + (v.RECORDER_PORT_MIN % 2);
    if (firstEven + 1 > v.RECORDER_PORT_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['RECORDER_PORT_MAX'],
        message: 'RECORDER_PORT_MIN..RECORDER_PORT_MAX must hold at least one even RTP port and its RTCP port (port + 1)',
      });
    }
    const overlaps = v.RECORDER_PORT_MIN <= v.MEDIA_UDP_PORT_MAX && v.MEDIA_UDP_PORT_MIN <= v.RECORDER_PORT_MAX;
    if (overlaps) {
      ctx.addIssue({ code: 'custom', path: ['RECORDER_PORT_MIN'], message: 'the recorder port range must not overlap MEDIA_UDP_PORT_MIN..MAX' });
    }
    if (v.MEDIA_ENDPOINTS > v.MEDIA_UDP_PORT_MAX - v.MEDIA_UDP_PORT_MIN + 1) {
      ctx.addIssue({ code: 'custom', path: ['MEDIA_ENDPOINTS'], message: 'every endpoint needs its own port in MEDIA_UDP_PORT_MIN..MAX' });
    }
    if (v.SESSION_ENTRY_TTL_SECONDS < 3) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_ENTRY_TTL_SECONDS'], message: 'must be at least 3 seconds' });
    }
  });

/**
 * Every variable media reads, with its default and validation: `@recstack/media/config` exports it, and
 * deploy/tools checks the manifests against it.
 */
export const envSchema = schema;

export type LogLevel = z.infer<typeof schema>['LOG_LEVEL'];

export interface MediaConfig {
  mediaId: string;
  nats: NatsSettings;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  publicIp: string;
  udpPorts: { min: number; max: number };
  recorderPorts: { min: number; max: number };
  recorderNetworks: RecorderNetworks;
  maxSessions: number;
  endpoints: number;
  /** 0: no limit */
  maxPacketsPerSecond: number;
  /** 0: no limit */
  maxCpuPercent: number;
  keyframeIntervalMs: number;
  ops: { host: string; port: number };
  recorderStartTimeoutMs: number;
  recorderStartAttempts: number;
  recordingStopTimeoutMs: number;
  portQuarantineMs: number;
  recorderCheckIntervalMs: number;
  recorderLostGraceMs: number;
  recorderLostWaitMs: number;
  sessionEntryTtlMs: number;
  publisherIceTimeoutMs: number;
  publisherConnectTimeoutMs: number;
  kvReplicas: number;
  maxVideoKbps: number;
  nackWaitMs: number;
  medoozeLog: boolean;
}

/** Reads and validates the environment; the only place the media service looks at process.env. */
export function loadConfig(source: Record<string, string | undefined> = process.env): MediaConfig {
  const v = loadEnv(schema, source);
  return {
    mediaId: v.MEDIA_ID ?? newId('med'),
    nats: natsSettings(v, 'media'),
    logLevel: v.LOG_LEVEL,
    shutdownTimeoutMs: Math.round(v.SHUTDOWN_TIMEOUT_SECONDS * 1000),
    publicIp: v.MEDIA_PUBLIC_IP,
    udpPorts: { min: v.MEDIA_UDP_PORT_MIN, max: v.MEDIA_UDP_PORT_MAX },
    recorderPorts: { min: v.RECORDER_PORT_MIN, max: v.RECORDER_PORT_MAX },
    recorderNetworks: v.RECORDER_ALLOWED_NETWORKS,
    maxSessions: v.MAX_SESSIONS,
    endpoints: v.MEDIA_ENDPOINTS,
    maxPacketsPerSecond: v.MEDIA_MAX_PPS,
    maxCpuPercent: v.MEDIA_MAX_CPU,
    keyframeIntervalMs: v.KEYFRAME_INTERVAL_MS,
    ops: { host: v.OPS_HOST, port: v.OPS_PORT },
    recorderStartTimeoutMs: Math.round(v.RECORDER_START_TIMEOUT_SECONDS * 1000),
    recorderStartAttempts: v.RECORDER_START_ATTEMPTS,
    recordingStopTimeoutMs: Math.round(v.RECORDING_STOP_TIMEOUT_SECONDS * 1000),
    portQuarantineMs: Math.round(v.PORT_QUARANTINE_SECONDS * 1000),
    recorderCheckIntervalMs: Math.round(v.RECORDER_CHECK_INTERVAL_SECONDS * 1000),
    recorderLostGraceMs: Math.round(v.RECORDER_LOST_GRACE_SECONDS * 1000),
    recorderLostWaitMs: Math.round(v.RECORDER_LOST_WAIT_SECONDS * 1000),
    sessionEntryTtlMs: Math.round(v.SESSION_ENTRY_TTL_SECONDS * 1000),
    publisherIceTimeoutMs: Math.round(v.PUBLISHER_ICE_TIMEOUT_SECONDS * 1000),
    publisherConnectTimeoutMs: Math.round(v.PUBLISHER_CONNECT_TIMEOUT_SECONDS * 1000),
    kvReplicas: v.NATS_KV_REPLICAS,
    maxVideoKbps: v.MAX_VIDEO_KBPS,
    nackWaitMs: v.MEDIA_NACK_WAIT_MS,
    medoozeLog: v.MEDOOZE_LOG,
  };
}
