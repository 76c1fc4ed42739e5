import { readFile, readdir } from 'node:fs/promises';
import { statFieldsAfterCommand } from '../proc-stat.js';

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
 * processes (media, other recorders) share its cores. What processes at the lowest priority used is not
 * busy (`yielding`, in clock ticks): they run on what everything else leaves, so they never slow a recording
 * down; counting them made the background verification of one batch of stops refuse the next batch's starts.
 */
export function systemCpuReader(
  now: () => number = () => performance.now(),
  root = '/sys/fs/cgroup',
  procStat = '/proc/stat',
  yielding: () => Promise<number> = lowestPriorityTicks(),
): CpuReader {
  return async () => {
    const cores = await readFile(`${root}/cpu.max`, 'utf8').then(parseCpuMax, () => undefined);
    const yielded = await yielding().catch(() => 0);
    if (cores !== undefined) {
      const usage = await readFile(`${root}/cpu.stat`, 'utf8').then(parseCpuStatUsage, () => undefined);
      // microseconds of CPU against microseconds of wall time × the cores allowed
      if (usage !== undefined) return { busy: usage - yielded * USEC_PER_TICK, capacity: now() * 1000 * cores };
    }
    const machine = await readFile(procStat, 'utf8').then(parseProcStat, () => undefined);
    return machine && { busy: machine.busy - yielded, capacity: machine.capacity };
  };
}

/** The clock tick of /proc's CPU times (USER_HZ), 100 per second in Linux's user-space ABI whatever the kernel's HZ. */
const USEC_PER_TICK = 10_000;

/** Niceness 19, the lowest priority: the recorder's background verification runs there. */
const LOWEST_PRIORITY = 19;

/** A process's CPU time (user + system, in ticks) and niceness, from `/proc/<pid>/stat`. */
export function parsePidStat(text: string): { ticks: number; nice: number } | undefined {
  const fields = statFieldsAfterCommand(text);
  // utime is field 14, stime 15, nice 19
  const [utime, stime, nice] = [fields[11], fields[12], fields[16]].map(Number);
  if (utime === undefined || stime === undefined || nice === undefined || ![utime, stime, nice].every(Number.isFinite)) return undefined;
  return { ticks: utime + stime, nice };
}

/**
 * A cumulative counter of the CPU ticks processes at niceness 19 used since its first call (which only
 * takes the baseline), from every process /proc lists (the container's own in a container). A process that
 * ended between two calls loses its last interval: the counter errs towards busy, the safe side.
 */
export function lowestPriorityTicks(procDir = '/proc'): () => Promise<number> {
  let last: Map<number, number> | undefined;
  let total = 0;
  return async () => {
    const pids = (await readdir(procDir)).filter((name) => /^\d+$/.test(name));
    const stats = await Promise.all(pids.map((pid) => readFile(`${procDir}/${pid}/stat`, 'utf8').then(parsePidStat, () => undefined)));
    const seen = new Map<number, number>();
    stats.forEach((stat, i) => {
      if (stat?.nice !== LOWEST_PRIORITY) return;
      const pid = Number(pids[i]);
      seen.set(pid, stat.ticks);
      if (last) total += Math.max(0, stat.ticks - (last.get(pid) ?? 0));
    });
    last = seen;
    return total;
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
