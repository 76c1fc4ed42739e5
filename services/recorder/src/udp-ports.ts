import { createSocket } from 'node:dgram';
import { readFile, readdir, readlink } from 'node:fs/promises';

/**
 * The ports of `ports` that cannot be bound on `address` right now. A quick check before starting a child,
 * so a taken port is refused in milliseconds; the child's own bind failure stays the final word (races).
 */
export async function unbindablePorts(ports: readonly number[], address: string): Promise<number[]> {
  const results = await Promise.all(ports.map(async (port) => ((await canBind(port, address)) ? undefined : port)));
  return results.filter((p): p is number => p !== undefined);
}

function canBind(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** Local UDP port → socket inode, from the text of /proc/net/udp (or udp6). */
export function parseProcNetUdp(text: string): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const inode = fields[9];
    if (!local || !inode) continue;
    const port = Number.parseInt(local.split(':')[1] ?? '', 16);
    if (!Number.isFinite(port)) continue;
    out.set(port, [...(out.get(port) ?? []), inode]);
  }
  return out;
}

/**
 * Whether process `pid` holds a bound UDP socket on every one of `ports` (Linux: its fds against
 * /proc/net/udp). Used for FFmpeg, which says nothing when its sockets are ready.
 */
export async function portsBoundBy(pid: number, ports: readonly number[]): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  const inodes = new Set<string>();
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1]) inodes.add(m[1]);
    }),
  );
  const tables = await Promise.all(['/proc/net/udp', '/proc/net/udp6'].map((f) => readFile(f, 'utf8').catch(() => '')));
  const bound = new Map<number, string[]>();
  for (const table of tables) for (const [port, list] of parseProcNetUdp(table)) bound.set(port, [...(bound.get(port) ?? []), ...list]);
  return ports.every((port) => (bound.get(port) ?? []).some((inode) => inodes.has(inode)));
}
