import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { statFieldsAfterCommand } from '../proc-stat.js';

/** A recording process (gst-launch, ffmpeg) left running by a recorder that died. */
export interface OrphanProcess {
  pid: number;
  /** the file name up to its first dot: a recording's id, or `<id>-s<n>` for a later segment of one */
  recordingId: string;
  /** the recording's (or segment's) file, `<id>.<ext>`: what it writes, whether directly or as `<file>.partial.<ext>` */
  file: string;
  command: string;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Z: a zombie, already ended */
  state: string;
  argv: string[];
}

/**
 * The recording id a process works on, when one of its arguments is a file directly in `dir`: gst-launch
 * has `location=<dir>/<id>.<ext>`, ffmpeg the path itself (output, or input of a rewrite). Ids contain no
 * dot, so the id is the file name up to the first one.
 */
export function recordingIdInArgs(argv: readonly string[], dir: string): string | undefined {
  return recordingFileInArgs(argv, dir)?.recordingId;
}

/** The recording id and file (`<id>.<ext>`, without a `.partial.<ext>` the child may write first) of a process. */
export function recordingFileInArgs(argv: readonly string[], dir: string): { recordingId: string; file: string } | undefined {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  for (const arg of argv) {
    const at = arg.indexOf(prefix);
    if (at < 0 || (at > 0 && arg[at - 1] !== '=')) continue;
    const rest = arg.slice(at + prefix.length);
    const match = /^([A-Za-z0-9_-]{1,64})(\.[^./]*)[^/]*$/.exec(rest);
    if (match?.[1] && match[2] !== undefined) return { recordingId: match[1], file: `${match[1]}${match[2]}` };
  }
  return undefined;
}

/** The recorder's entry point, however it is started (tsx from sources, node from dist). */
const RECORDER_MAIN = /(^|\/)services\/recorder\/(src|dist)\/main\.[jt]s$/;

/**
 * Picks the orphans among the processes: a recording tool working on a file of `dir` whose parent is not
 * a live recorder. A recorder is recognised by running the same program as this one (the same command
 * line) or the recorder's entry point, so recorders sharing the folder on one machine leave each other's
 * children alone; this process's own children are never orphans.
 */
export function pickOrphans(
  processes: readonly ProcessInfo[],
  dir: string,
  self: { pid: number; argv: readonly string[] },
  tools: readonly string[],
): OrphanProcess[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const selfLine = self.argv.join('\0');
  const toolNames = new Set(tools.map((t) => basename(t)));
  const orphans: OrphanProcess[] = [];
  for (const p of processes) {
    if (p.state === 'Z' || p.pid === self.pid || p.ppid === self.pid) continue;
    const command = p.argv[0] ? basename(p.argv[0]) : '';
    if (!toolNames.has(command)) continue;
    const found = recordingFileInArgs(p.argv, dir);
    if (!found) continue;
    const parent = byPid.get(p.ppid);
    if (parent && parent.state !== 'Z' && (parent.argv.join('\0') === selfLine || parent.argv.some((a) => RECORDER_MAIN.test(a)))) continue;
    orphans.push({ pid: p.pid, recordingId: found.recordingId, file: found.file, command });
  }
  return orphans;
}

/** The processes visible in /proc (Linux), with their parent, state and arguments. */
export async function listProcesses(): Promise<ProcessInfo[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const out: ProcessInfo[] = [];
  await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (name) => {
        const info = await readProcess(Number(name));
        if (info) out.push(info);
      }),
  );
  return out;
}

export async function readProcess(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
    const [state = '', ppid = '0'] = statFieldsAfterCommand(stat);
    return { pid, ppid: Number(ppid), state, argv: cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1) };
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/** Whether the process still runs (a zombie has ended). */
export async function processRunning(pid: number): Promise<boolean> {
  const info = await readProcess(pid);
  return info !== undefined && info.state !== 'Z';
}

/** This process as the orphan check sees it: its pid and command line from /proc. */
export async function selfProcess(): Promise<{ pid: number; argv: string[] }> {
  const info = await readProcess(process.pid);
  return { pid: process.pid, argv: info?.argv ?? [] };
}
