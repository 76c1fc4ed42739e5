import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time and memory of processes from Linux's /proc:
 * - a running child: utime + stime of /proc/<pid>/stat, peak RSS as VmHWM of /proc/<pid>/status;
 * - children that have ended: cutime + cstime of /proc/self/stat, which the kernel adds up when this
 *   process reaps them (Node reaps at once), so a child's whole life is counted, its end included.
 */

const CLOCK_TICKS = clockTicks();

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

export interface CpuTimes {
  /** user + system CPU seconds of the process itself */
  self: number;
  /** user + system CPU seconds of its reaped children */
  children: number;
}

/** Fields 14-17 of a /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
export function parseProcStat(line: string, ticksPerSecond = CLOCK_TICKS): CpuTimes {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17
  const at = (field: number) => Number(fields[field - 3]);
  const self = at(14) + at(15);
  const children = at(16) + at(17);
  if (!Number.isFinite(self) || !Number.isFinite(children)) throw new Error(`unreadable /proc stat line: ${line.slice(0, 80)}`);
  return { self: self / ticksPerSecond, children: children / ticksPerSecond };
}

/** `VmHWM:    12345 kB` → bytes; undefined when the line is missing (a zombie has none). */
export function parseVmHwm(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

export function cpuOf(pid: number | 'self'): CpuTimes | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function peakRssOf(pid: number): number | undefined {
  try {
    return parseVmHwm(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU seconds of every child this process has reaped so far. */
export function reapedChildrenCpu(): number {
  return cpuOf('self')?.children ?? 0;
}

/**
 * Samples one running process: its latest CPU seconds and its peak RSS as the process goes. VmHWM only
 * grows, so the last sample before the exit is the peak (to within one period).
 */
export class ProcessSampler {
  cpu = 0;
  peakRss = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    periodMs = 200,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
  }

  sample(): { cpu: number; at: number } {
    const cpu = cpuOf(this.pid);
    const rss = peakRssOf(this.pid);
    if (cpu) this.cpu = cpu.self;
    if (rss !== undefined) this.peakRss = Math.max(this.peakRss, rss);
    return { cpu: this.cpu, at: performance.now() };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Nearest-rank percentile of a sample (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** One /proc/<pid>/stat line: its parent and its CPU seconds (own, and of the children it reaped). */
export function parseProcStatEntry(line: string, ticksPerSecond = CLOCK_TICKS): { ppid: number } & CpuTimes {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ...parseProcStat(line, ticksPerSecond) };
}

type ProcTable = ReadonlyMap<number, { ppid: number } & CpuTimes>;

/** A process and its live descendants, from one reading of the table; empty when the process is gone. */
function treePids(rootPid: number, table: ProcTable): number[] {
  if (!table.has(rootPid)) return [];
  const childrenOf = new Map<number, number[]>();
  for (const [pid, entry] of table) childrenOf.set(entry.ppid, [...(childrenOf.get(entry.ppid) ?? []), pid]);
  const tree: number[] = [];
  const pending = [rootPid];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    tree.push(pid);
    pending.push(...(childrenOf.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds used so far by a process and everything under it: its own, its reaped children's (a
 * GStreamer child that has ended), and each live descendant's own and reaped. Nothing is counted twice:
 * a descendant's time moves into its parent's reaped total only when it ends.
 */
export function treeCpuSeconds(rootPid: number, table: ProcTable = readProcTable()): number | undefined {
  const tree = treePids(rootPid, table);
  if (tree.length === 0) return undefined;
  return tree.reduce((total, pid) => total + (table.get(pid)?.self ?? 0) + (table.get(pid)?.children ?? 0), 0);
}

/** Resident memory of a process and its live descendants, in bytes (VmRSS; shared pages counted in each). */
export function treeRssBytes(rootPid: number, table: ProcTable = readProcTable()): number {
  let total = 0;
  for (const pid of treePids(rootPid, table)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

/** Every process's parent and CPU seconds, read once. */
export function readProcTable(): Map<number, { ppid: number } & CpuTimes> {
  const table = new Map<number, { ppid: number } & CpuTimes>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      table.set(Number(name), parseProcStatEntry(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // ended between the listing and the read
    }
  }
  return table;
}
