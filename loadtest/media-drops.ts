import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** One line of /proc/net/udp(6): the socket's inode, local port and the packets the kernel dropped for it. */
export interface UdpSocketLine {
  localPort: number;
  inode: number;
  drops: number;
}

/** Parses /proc/net/udp or /proc/net/udp6 (header line, then one socket a line; `drops` is the last column). */
export function parseProcNetUdp(text: string): UdpSocketLine[] {
  return text
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      const f = line.trim().split(/\s+/);
      if (f.length < 13) return [];
      const port = parseInt((f[1] ?? '').split(':')[1] ?? '', 16);
      const inode = Number(f[9]);
      const drops = Number(f[f.length - 1]);
      return Number.isFinite(port) && Number.isFinite(inode) && Number.isFinite(drops) ? [{ localPort: port, inode, drops }] : [];
    });
}

/** The socket inodes a process holds open (its /proc/PID/fd links `socket:[N]`). */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * Packets the kernel dropped at media's UDP sockets (receive buffer full: media did not read fast enough).
 * Counters are per socket and vanish with it, so a reader keeps the highest count seen per inode and sums
 * those: a session that ended does not take its drops with it.
 */
export class MediaDropReader {
  private readonly seen = new Map<number, { port: number; drops: number }>();

  /**
   * `ports`: media's WebRTC range (MEDIA_UDP_PORT_MIN..MAX), where publishers' packets arrive; media's other
   * sockets (towards the recorders) are left out: they only send, and the RTCP the recorders send back to
   * them is never read, so their counters grow without meaning anything.
   */
  constructor(
    private readonly mediaPid: () => number | undefined,
    private readonly ports?: { min: number; max: number },
  ) {}

  /** Total drops seen so far (monotonic). */
  read(): number {
    const pid = this.mediaPid();
    if (pid !== undefined) {
      const mine = socketInodes(pid);
      for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        for (const s of parseProcNetUdp(text)) {
          if (!mine.has(s.inode)) continue;
          if (this.ports && (s.localPort < this.ports.min || s.localPort > this.ports.max)) continue;
          this.seen.set(s.inode, { port: s.localPort, drops: Math.max(this.seen.get(s.inode)?.drops ?? 0, s.drops) });
        }
      }
    }
    let total = 0;
    for (const v of this.seen.values()) total += v.drops;
    return total;
  }

  /** Drops per local port so far (for finding which socket overflowed). */
  byPort(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const v of this.seen.values()) out[v.port] = (out[v.port] ?? 0) + v.drops;
    return out;
  }
}
