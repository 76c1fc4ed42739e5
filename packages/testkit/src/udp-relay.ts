import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/**
 * A UDP relay that impairs the path between WebRTC publishers and media: loss, jitter, reordering and a
 * bandwidth cap, in user space (this kernel has no netem; the relay also runs in CI and in containers).
 *
 * It behaves like a NAT: it listens on one loopback port; each client address (a publisher's ICE socket)
 * gets its own upstream socket towards `target`, so media's answers (ICE-lite: it replies to the source
 * address) come back to that socket and are relayed to the client. A publisher is pointed at the relay by
 * rewriting the answer SDP's candidate (`rewriteCandidates`) before applying it; works for werift and for
 * a Chromium page alike.
 *
 * The impairment is per flow (per client address, both directions), as if each publisher had its own
 * access link: a bandwidth cap is each publisher's, and a packet held back for reordering is released by
 * the next packet of the same stream, never by another publisher's. One relay can so serve many publishers.
 */

export interface Impairment {
  /** per cent of packets dropped (0-100) */
  lossPercent?: number;
  /** each packet is delayed by a uniform 0..jitterMs (packets overtake each other when it exceeds their spacing) */
  jitterMs?: number;
  /** per cent of packets held back and sent after the packet that follows them */
  reorderPercent?: number;
  /** link rate in kbit/s: packets queue behind each other; over `queueMs` of backlog the newest are dropped */
  bandwidthKbps?: number;
  queueMs?: number;
}

export interface RelayStats {
  received: number;
  forwarded: number;
  lost: number;
  /** dropped because the bandwidth queue was full */
  queueDropped: number;
  reordered: number;
}

/** Deterministic PRNG (mulberry32): a relay with the same seed impairs the same packets. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Verdict = { drop: 'loss' | 'queue' } | { sendAt: number; reordered: boolean };

/**
 * The decisions of one direction, separate from sockets so their statistics can be tested. Times are ms.
 * A reordered packet is released just after the next packet's send time (it swaps places with it).
 */
export class ImpairmentModel {
  readonly stats: RelayStats = { received: 0, forwarded: 0, lost: 0, queueDropped: 0, reordered: 0 };
  private linkFreeAt = 0;
  private held: Array<(sendAt: number) => void> = [];

  constructor(
    private impairment: Impairment,
    private readonly random: () => number,
  ) {}

  /** Changes the impairment from the next packet on (statistics carry on). */
  setImpairment(impairment: Impairment): void {
    this.impairment = impairment;
  }

  get active(): boolean {
    const i = this.impairment;
    return Boolean(i.lossPercent || i.jitterMs || i.reorderPercent || i.bandwidthKbps);
  }

  /**
   * Decides one packet of `bytes` arriving at `now`. `release` is called later for a packet held for
   * reordering (with the time it may go); the verdict then says `reordered` and its sendAt is provisional.
   */
  decide(bytes: number, now: number, release?: (sendAt: number) => void): Verdict {
    const i = this.impairment;
    this.stats.received++;
    if (i.lossPercent && this.random() * 100 < i.lossPercent) {
      this.stats.lost++;
      return { drop: 'loss' };
    }
    let sendAt = now;
    if (i.bandwidthKbps) {
      const start = Math.max(now, this.linkFreeAt);
      if (start - now > (i.queueMs ?? 200)) {
        this.stats.queueDropped++;
        return { drop: 'queue' };
      }
      this.linkFreeAt = start + (bytes * 8) / i.bandwidthKbps;
      sendAt = this.linkFreeAt;
    }
    if (i.jitterMs) sendAt += this.random() * i.jitterMs;
    // packets held for reordering go right after this one
    const waiting = this.held;
    this.held = [];
    for (const go of waiting) go(sendAt + 0.01);
    this.stats.forwarded++;
    if (i.reorderPercent && release && this.random() * 100 < i.reorderPercent) {
      this.stats.reordered++;
      this.held.push(release);
      return { sendAt, reordered: true };
    }
    return { sendAt, reordered: false };
  }

  /** Releases packets still held for reordering (nothing followed them). */
  flush(now: number): void {
    const waiting = this.held;
    this.held = [];
    for (const go of waiting) go(now);
  }
}

/**
 * The impairment state of every flow a relay carries: each client address gets a model per direction of
 * its own (its link queue, its held-back packet) and its own seeded generator. Flow 0 uses `seed` itself,
 * so a relay with one client impairs exactly as a single model with that seed would.
 */
export class RelayFlows {
  private readonly flows = new Map<string, { up: ImpairmentModel; down: ImpairmentModel }>();

  constructor(
    private upstream: Impairment,
    private readonly downstream: Impairment,
    private readonly seed: number,
  ) {}

  /** The models of the flow from `key` (a client's address:port), made on its first packet. */
  flow(key: string): { up: ImpairmentModel; down: ImpairmentModel } {
    let flow = this.flows.get(key);
    if (flow) return flow;
    // distinct generators per flow (and not another relay's: workers seed theirs 1, 2, …)
    const random = seededRandom((this.seed + Math.imul(this.flows.size, 0x9e3779b9)) >>> 0);
    flow = { up: new ImpairmentModel(this.upstream, random), down: new ImpairmentModel(this.downstream, random) };
    this.flows.set(key, flow);
    return flow;
  }

  /** Changes the client → target impairment of every flow, present and future. */
  setUpstream(impairment: Impairment): void {
    this.upstream = impairment;
    for (const f of this.flows.values()) f.up.setImpairment(impairment);
  }

  /** The counters of one direction summed over the flows. */
  totals(direction: 'up' | 'down'): RelayStats {
    const sum: RelayStats = { received: 0, forwarded: 0, lost: 0, queueDropped: 0, reordered: 0 };
    for (const f of this.flows.values()) for (const k of Object.keys(sum) as Array<keyof RelayStats>) sum[k] += f[direction].stats[k];
    return sum;
  }
}

export interface UdpRelayOptions {
  /**
   * where packets from clients go (media's candidate); may be set later with setTarget (a Chromium page
   * learns it from the answer it rewrites): until then client packets are dropped (ICE retries)
   */
  target?: { host: string; port: number };
  /** client → target */
  upstream?: Impairment;
  /** target → client */
  downstream?: Impairment;
  seed?: number;
  /** the address the relay listens on (default 127.0.0.1, any free port) */
  listenHost?: string;
  listenPort?: number;
}

export interface UdpRelay {
  readonly host: string;
  readonly port: number;
  /** the counters client → target, summed over the flows (a fresh copy at each read) */
  readonly upstream: RelayStats;
  readonly downstream: RelayStats;
  setTarget(target: { host: string; port: number }): void;
  /**
   * Drops every client → target packet `match` accepts (counted as lost) until called again with
   * undefined: an outage of one track, e.g. `rtpPayloadTypeIs(111)` for Chromium's Opus
   */
  dropUpstream(match: ((packet: Buffer) => boolean) | undefined): void;
  /** Replaces the client → target impairment of every flow, e.g. loss only once a publisher is connected */
  setUpstream(impairment: Impairment): void;
  close(): Promise<void>;
}

interface Client {
  socket: Socket;
  up: ImpairmentModel;
}

/** A held-back packet goes at most this late even if nothing follows it (ms). */
const REORDER_HOLD_MAX_MS = 50;

export async function startUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  const host = options.listenHost ?? '127.0.0.1';
  const listener = createSocket('udp4');
  const clients = new Map<string, Client>();
  const flows = new RelayFlows(options.upstream ?? {}, options.downstream ?? {}, options.seed ?? 1);
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let target = options.target;
  let dropMatch: ((packet: Buffer) => boolean) | undefined;

  const deliver = (model: ImpairmentModel, packet: Buffer, send: () => void) => {
    if (!model.active) {
      model.stats.received++;
      model.stats.forwarded++;
      return send();
    }
    const now = performance.now();
    let releasedAt: number | undefined;
    let holdTimer: NodeJS.Timeout | undefined;
    const go = (at: number) => {
      if (releasedAt !== undefined || closed) return;
      releasedAt = at;
      if (holdTimer) {
        clearTimeout(holdTimer);
        timers.delete(holdTimer);
      }
      schedule(at, send);
    };
    const verdict = model.decide(packet.length, now, go);
    if ('drop' in verdict) return;
    if (!verdict.reordered) return schedule(verdict.sendAt, send);
    holdTimer = setTimeout(() => go(performance.now()), REORDER_HOLD_MAX_MS);
    timers.add(holdTimer);
  };
  const schedule = (at: number, send: () => void) => {
    const wait = at - performance.now();
    if (wait < 0.5) return send();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) send();
    }, wait);
    timers.add(timer);
  };

  const clientFor = (rinfo: RemoteInfo): Client => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let client = clients.get(key);
    if (client) return client;
    const socket = createSocket('udp4');
    const { up, down } = flows.flow(key);
    client = { socket, up };
    clients.set(key, client);
    socket.on('message', (packet) => deliver(down, packet, () => listener.send(packet, rinfo.port, rinfo.address)));
    socket.on('error', () => undefined);
    socket.bind(0, target?.host === '127.0.0.1' || target?.host === 'localhost' ? '127.0.0.1' : undefined);
    return client;
  };

  listener.on('message', (packet, rinfo) => {
    const to = target;
    if (!to) return;
    const client = clientFor(rinfo);
    if (dropMatch?.(packet)) {
      client.up.stats.received++;
      client.up.stats.lost++;
      return;
    }
    deliver(client.up, packet, () => client.socket.send(packet, to.port, to.host));
  });
  listener.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.bind(options.listenPort ?? 0, host, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    host,
    port: listener.address().port,
    get upstream() {
      return flows.totals('up');
    },
    get downstream() {
      return flows.totals('down');
    },
    setTarget: (t) => {
      target = t;
    },
    dropUpstream: (match) => {
      dropMatch = match;
    },
    setUpstream: (impairment) => flows.setUpstream(impairment),
    close: () => {
      closing ??= (async () => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const sockets = [listener, ...[...clients.values()].map((c) => c.socket)];
        await Promise.all(
          sockets.map(
            (s) =>
              new Promise<void>((resolve) => {
                try {
                  s.close(() => resolve());
                } catch {
                  resolve();
                }
              }),
          ),
        );
      })();
      return closing;
    },
  };
}

/**
 * Points an SDP's UDP candidates at the relay: every `a=candidate` of `from` (host:port of the relay's
 * target, or any UDP candidate when omitted) is rewritten to the relay's address. Also returns the first
 * original UDP candidate, which is the relay's target.
 */
export function rewriteCandidates(
  sdp: string,
  relay: { host: string; port: number },
  from?: { host: string; port: number },
): { sdp: string; target: { host: string; port: number } | undefined } {
  let target: { host: string; port: number } | undefined;
  const out = sdp.split(/\r?\n/).map((line) => {
    const m = /^(a=candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ .*)$/i.exec(line);
    if (!m) return line;
    const [, head, address, port, tail] = m as unknown as [string, string, string, string, string];
    if (from && (from.host !== address || from.port !== Number(port))) return line;
    target ??= { host: address, port: Number(port) };
    return `${head}${relay.host} ${relay.port}${tail}`;
  });
  return { sdp: out.join('\r\n'), target };
}

/** The first UDP host candidate of an SDP (media's endpoint in its answer). */
export function firstUdpCandidate(sdp: string): { host: string; port: number } | undefined {
  const m = /^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ/im.exec(sdp);
  return m ? { host: m[1] as string, port: Number(m[2]) } : undefined;
}

/**
 * Matches RTP (not RTCP, STUN or DTLS) packets of one payload type. SRTP leaves the RTP header in the clear,
 * so the relay can tell a WebRTC publisher's tracks apart by it.
 */
export function rtpPayloadTypeIs(payloadType: number): (packet: Buffer) => boolean {
  return (packet) => {
    if (packet.length < 12 || (packet[0] as number) >> 6 !== 2) return false;
    const second = packet[1] as number;
    // RTCP packet types 192-223 share the byte; RFC 5761 keeps RTP payload types out of 64-95
    if (second >= 192 && second <= 223) return false;
    return (second & 0x7f) === payloadType;
  };
}
