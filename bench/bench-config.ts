import { z } from 'zod';

/** The benchmark's knobs, from the environment, checked before anything runs. */
const BenchEnvSchema = z.object({
  /** seconds of RTP replayed into each recorder for the CPU/RSS table */
  BENCH_SECONDS: z.coerce.number().int().min(10).max(600).default(30),
  /** recordings per case through the recorder service over NATS (start/stop latency) */
  BENCH_RUNS: z.coerce.number().int().min(1).max(100).default(10),
  /** seconds each of those recordings lasts */
  BENCH_RECORD_SECONDS: z.coerce.number().int().min(1).max(60).default(3),
  /** runs of the CPU table; each figure is the median (the machine is shared and noisy) */
  BENCH_REPEAT: z.coerce.number().int().min(1).max(10).default(1),
  /** also measure our GStreamer pipeline with one feature removed at a time, and the candidate fixes */
  BENCH_ABLATIONS: z.enum(['0', '1']).default('0'),
  /** only these rows (comma-separated ids, e.g. `seed-gst,ours-gst-aac`); the latency part runs when a listed id is a latency case too */
  BENCH_ONLY: z.string().default(''),
  /** the markdown file written under bench/results/ */
  BENCH_RESULT: z
    .string()
    .regex(/^[\w.-]+\.md$/, 'a file name ending in .md')
    .default('latest.md'),
});

export interface BenchConfig {
  seconds: number;
  runs: number;
  recordSeconds: number;
  repeat: number;
  ablations: boolean;
  only: string[];
  resultFile: string;
}

export function loadBenchConfig(source: Record<string, string | undefined> = process.env): BenchConfig {
  const parsed = BenchEnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`bad benchmark settings: ${problems}`);
  }
  const v = parsed.data;
  return {
    seconds: v.BENCH_SECONDS,
    runs: v.BENCH_RUNS,
    recordSeconds: v.BENCH_RECORD_SECONDS,
    repeat: v.BENCH_REPEAT,
    ablations: v.BENCH_ABLATIONS === '1',
    only: v.BENCH_ONLY.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    resultFile: v.BENCH_RESULT,
  };
}
