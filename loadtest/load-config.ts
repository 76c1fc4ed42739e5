import { z } from 'zod';

const RESOLUTION = /^(\d{2,4})x(\d{2,4})$/;

/** The load test's knobs, from the environment, checked before anything starts. */
const LoadEnvSchema = z.object({
  /** a running stack's page URL (http://host:port); unset: start a local stack (nats-server + the three services) */
  LOAD_URL: z.string().regex(/^https?:\/\/[^/\s]+(\/\S*)?$/, 'an http(s) URL such as http://127.0.0.1:8080').optional(),
  /** the API token of that stack, when it requires one */
  LOAD_TOKEN: z.string().default(''),
  /** WebRTC publishers (Chromium pages with the fake camera), each making one recording */
  LOAD_PUBLISHERS: z.coerce.number().int().min(1).max(64).default(4),
  /** seconds each recording lasts */
  LOAD_SECONDS: z.coerce.number().int().min(5).max(3600).default(20),
  /** the publishers start spread over this many seconds */
  LOAD_RAMP_SECONDS: z.coerce.number().min(0).max(600).default(4),
  LOAD_CODEC: z.enum(['h264', 'vp8', 'vp9', 'av1']).default('h264'),
  /** the camera resolution each publisher asks for (Chromium's encoder ramps up to it) */
  LOAD_RESOLUTION: z.string().regex(RESOLUTION, 'WIDTHxHEIGHT, for example 640x360').default('640x360'),
  /** local stack only: recorder processes (media spreads recordings over them through NATS) */
  LOAD_RECORDERS: z.coerce.number().int().min(1).max(16).default(2),
  /** local stack only: the recorders' engine */
  LOAD_ENGINE: z.enum(['gstreamer', 'ffmpeg']).default('gstreamer'),
  /** the markdown file written under loadtest/results/ */
  LOAD_RESULT: z.string().regex(/^[\w.-]+\.md$/, 'a file name ending in .md').default('latest.md'),
});

export interface LoadConfig {
  url: string | undefined;
  token: string | undefined;
  publishers: number;
  seconds: number;
  rampSeconds: number;
  codec: 'h264' | 'vp8' | 'vp9' | 'av1';
  width: number;
  height: number;
  recorders: number;
  engine: 'gstreamer' | 'ffmpeg';
  resultFile: string;
}

export function loadLoadConfig(source: Record<string, string | undefined> = process.env): LoadConfig {
  // an empty variable (LOAD_URL= in a Makefile call) means "not set"
  const present = Object.fromEntries(Object.entries(source).filter(([k, v]) => k.startsWith('LOAD_') && v !== ''));
  const parsed = LoadEnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`bad load-test settings: ${problems}`);
  }
  const v = parsed.data;
  // every publisher must be recording at the same time for a while, or there is no steady phase to measure
  if (v.LOAD_SECONDS < v.LOAD_RAMP_SECONDS + 5) {
    throw new Error(`bad load-test settings: LOAD_SECONDS (${v.LOAD_SECONDS}) must be at least LOAD_RAMP_SECONDS + 5 (${v.LOAD_RAMP_SECONDS + 5})`);
  }
  const [, width, height] = RESOLUTION.exec(v.LOAD_RESOLUTION) ?? [];
  return {
    url: v.LOAD_URL?.replace(/\/+$/, ''),
    token: v.LOAD_TOKEN || undefined,
    publishers: v.LOAD_PUBLISHERS,
    seconds: v.LOAD_SECONDS,
    rampSeconds: v.LOAD_RAMP_SECONDS,
    codec: v.LOAD_CODEC,
    width: Number(width),
    height: Number(height),
    recorders: v.LOAD_RECORDERS,
    engine: v.LOAD_ENGINE,
    resultFile: v.LOAD_RESULT,
  };
}
