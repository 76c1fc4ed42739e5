import type { Logger } from '@recstack/service-kit';

/** What media's ingest costs right now, measured. */
export interface IngestLoad {
  /** RTP packets per second received from all publishers (media + RTX) */
  packetsPerSecond: number;
  /** CPU busy in percent (see CpuUsage for of what); undefined until measured */
  cpuPercent: number | undefined;
  /** datagrams the kernel dropped at media's endpoint sockets since they were opened */
  udpDrops: number;
}

export interface IngestLimits {
  maxSessions: number;
  /** 0: no limit */
  maxPacketsPerSecond: number;
  /** 0: no limit */
  maxCpuPercent: number;
}

/** A publisher's packet rate counted in before it has been measured: 720p30 at 1.5 Mbit/s plus Opus. */
export const ASSUMED_PPS_PER_SESSION = 200;

/**
 * Why a new session must be refused, or undefined when there is room. `unmeasured` sessions joined since
 * the last measurement: they are counted at the average rate of the others, so a burst of joins between
 * two samples cannot all pass a limit that the first of them already reaches.
 */
export function ingestRefusal(load: IngestLoad, limits: IngestLimits, sessions: number, unmeasured: number): string | undefined {
  if (sessions >= limits.maxSessions) return `this media instance holds its maximum of ${limits.maxSessions} sessions`;
  if (limits.maxPacketsPerSecond > 0) {
    const measured = sessions - unmeasured;
    const perSession = measured > 0 && load.packetsPerSecond > 0 ? load.packetsPerSecond / measured : ASSUMED_PPS_PER_SESSION;
    const projected = load.packetsPerSecond + unmeasured * perSession;
    if (projected >= limits.maxPacketsPerSecond)
      return `this media instance receives ${Math.round(projected)} packets/s of its maximum ${limits.maxPacketsPerSecond}`;
  }
  if (limits.maxCpuPercent > 0 && load.cpuPercent !== undefined && load.cpuPercent >= limits.maxCpuPercent) {
    return `CPU is at ${Math.round(load.cpuPercent)} % (limit ${limits.maxCpuPercent} %)`;
  }
  return undefined;
}

/**
 * Share of the capacity in use, 0..1 (above 1 when over): the largest of sessions, packets and CPU against
 * their limits. What signaling compares instances by.
 */
export function loadShare(load: IngestLoad, limits: IngestLimits, sessions: number): number {
  const shares = [limits.maxSessions > 0 ? sessions / limits.maxSessions : 0];
  if (limits.maxPacketsPerSecond > 0) shares.push(load.packetsPerSecond / limits.maxPacketsPerSecond);
  if (limits.maxCpuPercent > 0 && load.cpuPercent !== undefined) shares.push(load.cpuPercent / limits.maxCpuPercent);
  return Math.max(...shares);
}

export interface IngestSources {
  /** cumulative packets received, per session */
  packetsBySession(): Promise<Map<string, number>>;
  /** percent since the previous call */
  cpuPercent(): number | undefined;
  /** total drops at media's endpoint sockets */
  udpDrops(): number;
}

/**
 * Measures media's ingest every `intervalMs`: packet rate from Medooze's per-track counters (sessions
 * present in both samples only, so a joining or leaving session adds no step), CPU, and socket drops.
 * Logs once each time drops grow, since any drop there is lost for the file.
 */
export class IngestMonitor {
  private last: { at: number; packets: Map<string, number> } | undefined;
  private load: IngestLoad = { packetsPerSecond: 0, cpuPercent: undefined, udpDrops: 0 };
  private measuredSessions = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly sources: IngestSources,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get current(): IngestLoad {
    return this.load;
  }

  /** Sessions in `ids` that no sample has measured yet. */
  unmeasured(ids: Iterable<string>): number {
    let n = 0;
    for (const id of ids) if (!this.measuredSessions.has(id)) n += 1;
    return n;
  }

  start(): void {
    if (this.timer || this.closed) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One measurement; one at a time. */
  sample(): Promise<void> {
    this.sampling ??= this.measure()
      .catch((err: unknown) => this.logger.warn({ err }, 'ingest load sample failed'))
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  private async measure(): Promise<void> {
    const packets = await this.sources.packetsBySession();
    const at = this.now();
    let pps = this.load.packetsPerSecond;
    // a session is in the rate once two samples saw it
    const measured = new Set<string>();
    if (this.last && at > this.last.at) {
      let delta = 0;
      for (const [id, n] of packets) {
        const before = this.last.packets.get(id);
        if (before === undefined) continue;
        measured.add(id);
        if (n >= before) delta += n - before;
      }
      pps = (delta * 1000) / (at - this.last.at);
    }
    this.last = { at, packets };
    this.measuredSessions = measured;
    const drops = this.sources.udpDrops();
    if (drops > this.load.udpDrops) {
      this.logger.warn({ drops, since: drops - this.load.udpDrops }, 'packets dropped at the endpoint sockets (receive buffer full)');
    }
    this.load = { packetsPerSecond: pps, cpuPercent: this.sources.cpuPercent() ?? this.load.cpuPercent, udpDrops: drops };
  }
}
