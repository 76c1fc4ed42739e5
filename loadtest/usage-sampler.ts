import { readProcTable, treeCpuSeconds, treeRssBytes } from '@recstack/testkit';

export interface UsageSample {
  /** Date.now() of the sample */
  at: number;
  /** CPU seconds used so far, per watched process tree */
  cpu: Record<string, number>;
  rss: Record<string, number>;
}

/** CPU (% of one core) and memory of one process tree over a stretch of time. */
export interface WindowUsage {
  name: string;
  cpuPercent: number;
  peakRssMiB: number;
}

/**
 * Samples the CPU time and resident memory of named process trees (a service and its GStreamer or FFmpeg
 * children) once a second. `generator` is everything else this process started (Chromium, this process),
 * so the report can say how much of the machine the load itself took.
 */
export class UsageSampler {
  readonly samples: UsageSample[] = [];
  private readonly timer: NodeJS.Timeout;

  /** `roots` is asked at every sample: a service restarted by chaos has a new process id */
  constructor(
    private readonly roots: () => ReadonlyMap<string, number>,
    periodMs = 1000,
    private readonly onSample?: (s: UsageSample) => void,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
    this.timer.unref();
  }

  sample(): void {
    const table = readProcTable();
    const cpu: Record<string, number> = {};
    const rss: Record<string, number> = {};
    let watched = 0;
    let watchedRss = 0;
    for (const [name, pid] of this.roots()) {
      const seconds = treeCpuSeconds(pid, table);
      if (seconds === undefined) continue;
      cpu[name] = seconds;
      rss[name] = treeRssBytes(pid, table);
      watched += seconds;
      watchedRss += rss[name];
    }
    const all = treeCpuSeconds(process.pid, table);
    if (all !== undefined) {
      cpu.generator = all - watched;
      rss.generator = treeRssBytes(process.pid, table) - watchedRss;
    }
    const sample = { at: Date.now(), cpu, rss };
    this.samples.push(sample);
    this.onSample?.(sample);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

/** CPU (% of one core) of each tree between consecutive samples, and memory (MiB), for the report's charts. */
export function usageTimeline(
  samples: readonly UsageSample[],
  origin: number,
): Array<{ t: number; cpu: Record<string, number>; rssMiB: Record<string, number> }> {
  const out: Array<{ t: number; cpu: Record<string, number>; rssMiB: Record<string, number> }> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as UsageSample;
    const b = samples[i] as UsageSample;
    const seconds = (b.at - a.at) / 1000;
    if (seconds <= 0) continue;
    const cpu: Record<string, number> = {};
    const rssMiB: Record<string, number> = {};
    for (const name of Object.keys(b.cpu)) {
      const before = a.cpu[name];
      // a restarted service starts its count again: no figure for that second
      if (before !== undefined && (b.cpu[name] ?? 0) >= before) cpu[name] = round1((((b.cpu[name] ?? 0) - before) / seconds) * 100);
      rssMiB[name] = round1((b.rss[name] ?? 0) / (1024 * 1024));
    }
    out.push({ t: round1((b.at - origin) / 1000), cpu, rssMiB });
  }
  return out;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** Usage of each tree between two moments, from the samples nearest inside them. */
export function usageBetween(samples: readonly UsageSample[], from: number, to: number): WindowUsage[] {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  const first = inside[0];
  const last = inside[inside.length - 1];
  if (!first || !last || last.at - first.at < 1000) return [];
  const names = Object.keys(last.cpu).filter((n) => first.cpu[n] !== undefined && (last.cpu[n] ?? 0) >= (first.cpu[n] ?? 0));
  return names.map((name) => ({
    name,
    cpuPercent: ((((last.cpu[name] ?? 0) - (first.cpu[name] ?? 0)) * 1000) / (last.at - first.at)) * 100,
    peakRssMiB: Math.max(...inside.map((s) => s.rss[name] ?? 0)) / (1024 * 1024),
  }));
}
