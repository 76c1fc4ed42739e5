import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** One line of /proc/net/udp (or udp6). */
export interface UdpSocketLine {
  localPort: number;
  inode: number;
  /** datagrams the kernel dropped for this socket since it was opened (receive buffer full, mostly) */
  drops: number;
  /** bytes waiting to be read now */
  rxQueueBytes: number;
}

/**
 * Parses /proc/net/udp. Columns: sl, local_address (hex ip:port), rem_address, st, tx_queue:rx_queue,
 * tr:tm->when, retrnsmt, uid, timeout, inode, ref, pointer, drops.
 */
export function parseProcNetUdp(text: string): UdpSocketLine[] {
  const out: UdpSocketLine[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const port = Number.parseInt(f[1]?.split(':')[1] ?? '', 16);
    const rxQueue = Number.parseInt(f[4]?.split(':')[1] ?? '', 16);
    const inode = Number.parseInt(f[9] ?? '', 10);
    const drops = Number.parseInt(f[12] ?? '', 10);
    if ([port, rxQueue, inode, drops].some((n) => !Number.isFinite(n))) continue;
    out.push({ localPort: port, inode, drops, rxQueueBytes: rxQueue });
  }
  return out;
}

/** Socket inodes of this process's open file descriptors ("socket:[12345]"). */
export function ownSocketInodes(fdDir = '/proc/self/fd'): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(fdDir);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${fdDir}/${fd}`));
      if (m?.[1]) inodes.add(Number(m[1]));
    } catch {
      // closed between the listing and the readlink
    }
  }
  return inodes;
}

export interface UdpStatsSources {
  readTables: () => string[];
  ownInodes: () => Set<number>;
}

const procSources: UdpStatsSources = {
  readTables: () =>
    ['/proc/net/udp', '/proc/net/udp6'].flatMap((path) => {
      try {
        return [readFileSync(path, 'utf8')];
      } catch {
        return [];
      }
    }),
  ownInodes: () => ownSocketInodes(),
};

/**
 * Drop counters of the given local UDP ports, counted only for sockets this process owns (matched by
 * inode: another process may hold the same port number on another address). Ports not found are absent.
 */
export function udpDropsByPort(ports: readonly number[], sources: UdpStatsSources = procSources): Map<number, UdpSocketLine> {
  const wanted = new Set(ports);
  const inodes = sources.ownInodes();
  const found = new Map<number, UdpSocketLine>();
  for (const table of sources.readTables()) {
    for (const line of parseProcNetUdp(table)) {
      if (wanted.has(line.localPort) && inodes.has(line.inode)) found.set(line.localPort, line);
    }
  }
  return found;
}
