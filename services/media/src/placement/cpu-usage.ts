import { readFileSync } from 'node:fs';

export type FileReader = (path: string) => string | undefined;

const readOrUndefined: FileReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

interface Reading {
  /** busy and total time, in the same unit */
  busy: number;
  total: number;
}

/** The cgroup v2 CPU limit in cores ("200000 100000" → 2), undefined when unlimited or unknown. */
export function cgroupCpuLimit(cpuMax: string | undefined): number | undefined {
  const [quota, period] = (cpuMax ?? '').trim().split(/\s+/);
  if (!quota || !period || quota === 'max') return undefined;
  const cores = Number(quota) / Number(period);
  return Number.isFinite(cores) && cores > 0 ? cores : undefined;
}

/** `usage_usec` of a cgroup v2 cpu.stat. */
export function cgroupUsageMicros(cpuStat: string | undefined): number | undefined {
  const m = /^usage_usec (\d+)$/m.exec(cpuStat ?? '');
  return m?.[1] ? Number(m[1]) : undefined;
}

/** Busy and total jiffies of the machine from /proc/stat's first line (idle and iowait are not busy). */
export function procStatTimes(procStat: string | undefined): Reading | undefined {
  const line = (procStat ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 5 || v.some((n) => !Number.isFinite(n))) return undefined;
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * CPU in use, in percent, between two calls of `sample()`: of the cgroup's CPU limit when the process runs
 * under one (a container with a CPU quota: that is all it gets), otherwise of the whole machine (what
 * media's threads compete for, recorders and their children included).
 */
export class CpuUsage {
  private last: Reading | undefined;
  private readonly limitCores: number | undefined;

  constructor(
    private readonly read: FileReader = readOrUndefined,
    private readonly nowMicros: () => number = () => Number(process.hrtime.bigint() / 1000n),
  ) {
    this.limitCores = cgroupCpuLimit(read('/sys/fs/cgroup/cpu.max'));
  }

  /** What is measured: the cgroup's quota, or the machine. */
  get scope(): 'cgroup' | 'machine' {
    return this.limitCores !== undefined ? 'cgroup' : 'machine';
  }

  /** Percent busy since the previous call; undefined on the first call or when nothing can be read. */
  sample(): number | undefined {
    const now = this.reading();
    const before = this.last;
    this.last = now;
    if (!now || !before || now.total <= before.total) return undefined;
    const percent = ((now.busy - before.busy) / (now.total - before.total)) * 100;
    return Math.min(100, Math.max(0, percent));
  }

  private reading(): Reading | undefined {
    if (this.limitCores !== undefined) {
      const usage = cgroupUsageMicros(this.read('/sys/fs/cgroup/cpu.stat'));
      if (usage === undefined) return undefined;
      // the quota's worth of CPU time per wall-clock microsecond is the 100 %
      return { busy: usage, total: this.nowMicros() * this.limitCores };
    }
    return procStatTimes(this.read('/proc/stat'));
  }
}
