import { readFile } from 'node:fs/promises';

/** A cumulative CPU counter: busy time, and the time the CPU it is measured against could have run. */
export interface CpuCounter {
  /** CPU busy so far, in any unit (the same as `capacity`) */
  busy: number;
  /** busy's ceiling over the same period: all cores' time (/proc/stat), or quota × wall time (cgroup) */
  capacity: number;
}

/** Reads the counter now; undefined when it cannot. Injected into CpuGauge so tests need no /proc. */
export type CpuReader = () => Promise<CpuCounter | undefined>;

/**
 * `/proc/stat`'s first line (`cpu user nice system idle iowait irq softirq steal ...`, in clock ticks):
 * busy is everything but idle and iowait, capacity is the sum.
 */
export function parseProcStat(text: string): CpuCounter | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, capacity: total };
}

/** cgroup v2 `cpu.max` (`quota period`, or `max period`): the cores the cgroup may use, undefined when unlimited. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  const cores = Number(quota) / Number(period);
  return Number.isFinite(cores) && cores > 0 ? cores : undefined;
}

/** cgroup v2 `cpu.stat`'s `usage_usec`. */
export function parseCpuStatUsage(text: string): number | undefined {
  const m = /^usage_usec\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * The CPU this recorder is limited by: its cgroup's when the cgroup has a quota (a container with a CPU
 * limit: busy = usage, capacity = quota × wall time), else the whole machine's (/proc/stat), since other
 * processes (media, other recorders) share its cores.
 */
export function systemCpuReader(now: () => number = () => performance.now(), root = '/sys/fs/cgroup', procStat = '/proc/stat'): CpuReader {
  return async () => {
    const cores = await readFile(`${root}/cpu.max`, 'utf8').then(parseCpuMax, () => undefined);
    if (cores !== undefined) {
      const usage = await readFile(`${root}/cpu.stat`, 'utf8').then(parseCpuStatUsage, () => undefined);
      // microseconds of CPU against microseconds of wall time × the cores allowed
      if (usage !== undefined) return { busy: usage, capacity: now() * 1000 * cores };
    }
    return readFile(procStat, 'utf8').then(parseProcStat, () => undefined);
  };
}

/**
 * CPU busy in % (0-100) of what the recorder may use, over the last `windowMs`: sampled on a timer, so a
 * start decision reads a number instead of waiting for a measurement. Undefined until two samples exist.
 */
export class CpuGauge {
  private last: CpuCounter | undefined;
  private value: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly reader: CpuReader,
    private readonly windowMs: number,
  ) {}

  get percent(): number | undefined {
    return this.value;
  }

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.windowMs);
    this.timer.unref();
  }

  /** One sample: the percentage between this counter and the previous one. */
  sample(): Promise<void> {
    this.sampling ??= this.reader()
      .then((counter) => {
        if (!counter) return;
        const prev = this.last;
        this.last = counter;
        if (!prev) return;
        const capacity = counter.capacity - prev.capacity;
        if (capacity <= 0) return;
        this.value = Math.min(100, Math.max(0, ((counter.busy - prev.busy) / capacity) * 100));
      })
      .catch(() => undefined)
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
