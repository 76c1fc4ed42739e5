import { z } from 'zod';
import { parseChaos, type ChaosEvent } from './chaos-plan.js';
import { DEFAULT_OBJECTIVES, type Objectives } from './objectives.js';

const RESOLUTION = /^(\d{2,4})x(\d{2,4})$/;
const flag = (fallback: '0' | '1') =>
  z
    .enum(['0', '1', 'true', 'false'])
    .default(fallback)
    .transform((v) => v === '1' || v === 'true');

/** The load test's knobs, from the environment, checked before anything starts. */
const LoadEnvSchema = z.object({
  /** a running stack's page URL (http://host:port); unset: start a local stack (nats-server + the three services) */
  LOAD_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s]+(\/\S*)?$/, 'an http(s) URL such as http://127.0.0.1:8080')
    .optional(),
  /** the API token of that stack, when it requires one */
  LOAD_TOKEN: z.string().default(''),
  /** replay: light werift publishers replaying pre-encoded media; chromium: Chromium pages with the fake camera */
  LOAD_PUBLISHER: z.enum(['replay', 'chromium']).default('replay'),
  /** fixed: LOAD_PUBLISHERS recordings once; find-capacity: add LOAD_STEP publishers per step until an objective breaks */
  LOAD_MODE: z.enum(['fixed', 'find-capacity']).default('fixed'),
  /** fixed mode: publishers, one recording each */
  LOAD_PUBLISHERS: z.coerce.number().int().min(1).max(2000).default(4),
  /** fixed mode: seconds each recording lasts */
  LOAD_SECONDS: z.coerce.number().int().min(5).max(3600).default(20),
  /** the recordings of a run (fixed) or of a step (find-capacity) start spread over this many seconds */
  LOAD_RAMP_SECONDS: z.coerce.number().min(0).max(600).default(4),
  /** find-capacity: publishers added per step */
  LOAD_STEP: z.coerce.number().int().min(1).max(500).default(4),
  /** find-capacity: how long every step's recordings run */
  LOAD_STEP_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  /** find-capacity: stop adding at this many publishers even if every objective held */
  LOAD_MAX_PUBLISHERS: z.coerce.number().int().min(1).max(2000).default(200),
  LOAD_CODEC: z.enum(['h264', 'vp8', 'vp9', 'av1']).default('h264'),
  /** the recording's audio: aac (transcoded) or opus (copied); unset: the server's default for the container */
  LOAD_AUDIO: z.enum(['', 'aac', 'opus']).default(''),
  LOAD_RESOLUTION: z.string().regex(RESOLUTION, 'WIDTHxHEIGHT, for example 640x360').default('640x360'),
  /** replay: video bitrate of the replayed file */
  LOAD_KBPS: z.coerce.number().int().min(50).max(20_000).default(500),
  LOAD_FPS: z.coerce.number().int().min(5).max(60).default(30),
  /** replay: seconds between keyframes in the replayed file */
  LOAD_KEYFRAME_SECONDS: z.coerce.number().min(0.5).max(10).default(2),
  /** replay: every publisher at the same point of the file, keyframes at the same instants (the burst worst case) */
  LOAD_ALIGNED: flag('0'),
  /** replay: answer a keyframe request by jumping to the file's next keyframe (as an encoder would make one); 0 ignores requests */
  LOAD_PLI: flag('1'),
  /** 0: publish only, start no recording (measures the generator and media's ingest alone) */
  LOAD_RECORD: flag('1'),
  /** replay: video pacing as a multiple of LOAD_KBPS (libwebrtc's 2.5); 0 sends every frame as one burst */
  LOAD_PACING: z.coerce.number().min(0).max(100).default(2.5),
  /** replay: publishers per worker process */
  LOAD_PER_WORKER: z.coerce.number().int().min(1).max(200).default(25),
  /** impairments between the publishers and media, through a UDP relay (replay publishers only) */
  LOAD_LOSS: z.coerce.number().min(0).max(100).default(0),
  LOAD_JITTER_MS: z.coerce.number().min(0).max(2000).default(0),
  LOAD_REORDER: z.coerce.number().min(0).max(100).default(0),
  LOAD_BANDWIDTH_KBPS: z.coerce.number().min(0).max(10_000_000).default(0),
  /** chaos during the load, e.g. kill-recorder@15,restart-nats@25,term-media@40 (local stack only) */
  LOAD_CHAOS: z.string().default(''),
  /** objectives (find-capacity judges each step by them; fixed mode reports them) */
  LOAD_SLO_FIRST_KEYFRAME_P95_MS: z.coerce.number().min(0).default(DEFAULT_OBJECTIVES.firstKeyframeP95Ms),
  LOAD_SLO_STOP_P95_MS: z.coerce.number().min(0).default(DEFAULT_OBJECTIVES.stopP95Ms),
  LOAD_SLO_DURATION_TOLERANCE_S: z.coerce.number().min(0).default(DEFAULT_OBJECTIVES.durationToleranceSec),
  LOAD_SLO_MEDIA_DROPS: z.coerce.number().int().min(0).default(DEFAULT_OBJECTIVES.maxMediaDrops),
  LOAD_SLO_FAILED: z.coerce.number().int().min(0).default(DEFAULT_OBJECTIVES.maxFailed),
  /** local stack only: recorder processes (media spreads recordings over them through NATS) */
  LOAD_RECORDERS: z.coerce.number().int().min(1).max(16).default(2),
  LOAD_ENGINE: z.enum(['gstreamer', 'ffmpeg']).default('gstreamer'),
  /** several generators against one stack (a Kubernetes indexed Job): this one's share is publishers i with i % count == index */
  LOAD_SHARD_INDEX: z.coerce.number().int().min(0).default(0),
  LOAD_SHARD_COUNT: z.coerce.number().int().min(1).default(1),
  /** the report's base name under loadtest/results/ (or LOAD_RESULTS_DIR): NAME.md, NAME.html, NAME.json */
  LOAD_RESULT: z
    .string()
    .regex(/^[\w.-]+$/, 'a file name')
    .default('latest'),
  LOAD_RESULTS_DIR: z.string().optional(),
  /** where the replay media is made and kept (default loadtest/.cache) */
  LOAD_CACHE_DIR: z.string().optional(),
  /** touched at every progress line: a container's liveness probe reads its age */
  LOAD_HEARTBEAT_FILE: z.string().optional(),
});

/** Every variable the harness reads (the compose service passes each of them). */
export const LOAD_VARIABLES: readonly string[] = Object.keys(LoadEnvSchema.shape);

export type LoadCodec = 'h264' | 'vp8' | 'vp9' | 'av1';

export interface Impairments {
  lossPercent: number;
  jitterMs: number;
  reorderPercent: number;
  bandwidthKbps: number;
}

export interface LoadConfig {
  url: string | undefined;
  token: string | undefined;
  publisher: 'replay' | 'chromium';
  mode: 'fixed' | 'find-capacity';
  publishers: number;
  seconds: number;
  rampSeconds: number;
  step: number;
  stepSeconds: number;
  maxPublishers: number;
  codec: LoadCodec;
  /** asked of every recording; undefined: the server's default */
  audioCodec: 'aac' | 'opus' | undefined;
  width: number;
  height: number;
  kbps: number;
  fps: number;
  keyframeSeconds: number;
  aligned: boolean;
  honourPli: boolean;
  perWorker: number;
  pacing: number;
  record: boolean;
  impairments: Impairments;
  chaos: ChaosEvent[];
  objectives: Objectives;
  recorders: number;
  engine: 'gstreamer' | 'ffmpeg';
  shard: { index: number; count: number };
  resultName: string;
  resultsDir: string | undefined;
  cacheDir: string | undefined;
  heartbeatFile: string | undefined;
}

export function impaired(i: Impairments): boolean {
  return i.lossPercent > 0 || i.jitterMs > 0 || i.reorderPercent > 0 || i.bandwidthKbps > 0;
}

export function loadLoadConfig(source: Record<string, string | undefined> = process.env): LoadConfig {
  // an empty variable (LOAD_URL= in a Makefile call) means "not set"
  const present = Object.fromEntries(Object.entries(source).filter(([k, v]) => k.startsWith('LOAD_') && v !== ''));
  const parsed = LoadEnvSchema.safeParse(present);
  const bad = (problem: string) => new Error(`bad load-test settings: ${problem}`);
  if (!parsed.success) throw bad(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const v = parsed.data;
  const held = v.LOAD_MODE === 'fixed' ? v.LOAD_SECONDS : v.LOAD_STEP_SECONDS;
  const heldName = v.LOAD_MODE === 'fixed' ? 'LOAD_SECONDS' : 'LOAD_STEP_SECONDS';
  // every publisher must be recording at the same time for a while, or there is no steady phase to measure
  if (held < v.LOAD_RAMP_SECONDS + 5) throw bad(`${heldName} (${held}) must be at least LOAD_RAMP_SECONDS + 5 (${v.LOAD_RAMP_SECONDS + 5})`);
  if (v.LOAD_PUBLISHER === 'replay' && v.LOAD_CODEC === 'av1')
    throw bad('LOAD_CODEC: replay publishers send h264, vp8 or vp9 (LOAD_PUBLISHER=chromium for av1)');
  if (!v.LOAD_RECORD && v.LOAD_MODE !== 'fixed') throw bad('LOAD_RECORD=0 (publish only) needs LOAD_MODE=fixed: find-capacity judges recordings');
  if (v.LOAD_SHARD_INDEX >= v.LOAD_SHARD_COUNT) throw bad(`LOAD_SHARD_INDEX (${v.LOAD_SHARD_INDEX}) must be below LOAD_SHARD_COUNT (${v.LOAD_SHARD_COUNT})`);
  const impairments = { lossPercent: v.LOAD_LOSS, jitterMs: v.LOAD_JITTER_MS, reorderPercent: v.LOAD_REORDER, bandwidthKbps: v.LOAD_BANDWIDTH_KBPS };
  if (v.LOAD_PUBLISHER === 'chromium' && impaired(impairments))
    throw bad('LOAD_LOSS, LOAD_JITTER_MS, LOAD_REORDER and LOAD_BANDWIDTH_KBPS need LOAD_PUBLISHER=replay');
  let chaos: ChaosEvent[];
  try {
    chaos = parseChaos(v.LOAD_CHAOS);
  } catch (err) {
    throw bad(`LOAD_CHAOS: ${(err as Error).message}`);
  }
  if (chaos.length > 0 && v.LOAD_URL) throw bad('LOAD_CHAOS needs a local stack (unset LOAD_URL): the harness kills processes it started');
  const [, width, height] = RESOLUTION.exec(v.LOAD_RESOLUTION) ?? [];
  return {
    url: v.LOAD_URL?.replace(/\/+$/, ''),
    token: v.LOAD_TOKEN || undefined,
    publisher: v.LOAD_PUBLISHER,
    mode: v.LOAD_MODE,
    publishers: v.LOAD_PUBLISHERS,
    seconds: v.LOAD_SECONDS,
    rampSeconds: v.LOAD_RAMP_SECONDS,
    step: v.LOAD_STEP,
    stepSeconds: v.LOAD_STEP_SECONDS,
    maxPublishers: v.LOAD_MAX_PUBLISHERS,
    codec: v.LOAD_CODEC,
    audioCodec: v.LOAD_AUDIO || undefined,
    width: Number(width),
    height: Number(height),
    kbps: v.LOAD_KBPS,
    fps: v.LOAD_FPS,
    keyframeSeconds: v.LOAD_KEYFRAME_SECONDS,
    aligned: v.LOAD_ALIGNED,
    honourPli: v.LOAD_PLI && !v.LOAD_ALIGNED,
    perWorker: v.LOAD_PER_WORKER,
    record: v.LOAD_RECORD,
    pacing: v.LOAD_PACING,
    impairments,
    chaos,
    objectives: {
      firstKeyframeP95Ms: v.LOAD_SLO_FIRST_KEYFRAME_P95_MS,
      stopP95Ms: v.LOAD_SLO_STOP_P95_MS,
      durationToleranceSec: v.LOAD_SLO_DURATION_TOLERANCE_S,
      maxMediaDrops: v.LOAD_SLO_MEDIA_DROPS,
      maxFailed: v.LOAD_SLO_FAILED,
    },
    recorders: v.LOAD_RECORDERS,
    engine: v.LOAD_ENGINE,
    shard: { index: v.LOAD_SHARD_INDEX, count: v.LOAD_SHARD_COUNT },
    resultName: v.LOAD_RESULT.replace(/\.md$/, ''),
    resultsDir: v.LOAD_RESULTS_DIR,
    cacheDir: v.LOAD_CACHE_DIR,
    heartbeatFile: v.LOAD_HEARTBEAT_FILE,
  };
}
