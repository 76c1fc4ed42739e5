import { NoFreePortsError } from '../errors.js';

export interface PortAllocatorOptions {
  /** first port of the range (rounded up to an even port) */
  min: number;
  /** last port of the range; an RTP port is only handed out if its RTCP port (port + 1) fits too */
  max: number;
  /** how long quarantined ports stay out of circulation */
  quarantineMs: number;
  now?: () => number;
}

/**
 * The ports of one recording attempt. Ending it is idempotent and one-shot: once released or
 * quarantined, a lease can no longer touch ports that may meanwhile belong to someone else.
 */
export interface PortLease {
  readonly ports: readonly number[];
  readonly active: boolean;
  /** returns the ports to the pool */
  release(): void;
  /** keeps the ports out of circulation for the quarantine period (a recorder could not bind them, or may still hold them) */
  quarantine(): void;
}

/**
 * Hands out even RTP ports (RTCP on port + 1) for recorders to listen on. Pure bookkeeping, no sockets:
 * a port is never handed out twice while it is in use, is returned by `release`, and a port a recorder
 * could not bind (or may still hold) is kept out of circulation for a while by `quarantine`.
 *
 * Allocation walks the range round-robin, so a port that was just released is the last to be reused:
 * late packets of an ended recording do not land in the next one.
 */
export class PortAllocator {
  readonly min: number;
  readonly max: number;
  private readonly quarantineMs: number;
  private readonly now: () => number;
  private readonly inUse = new Set<number>();
  /** port → time it may be handed out again */
  private readonly quarantined = new Map<number, number>();
  private cursor: number;

  constructor(options: PortAllocatorOptions) {
    this.min = options.min + (options.min % 2);
    this.max = options.max;
    if (!Number.isInteger(this.min) || !Number.isInteger(this.max) || this.min + 1 > this.max) {
      throw new RangeError(`port range ${options.min}-${options.max} holds no RTP/RTCP port pair`);
    }
    this.quarantineMs = options.quarantineMs;
    this.now = options.now ?? Date.now;
    this.cursor = this.min;
  }

  /** Number of RTP/RTCP pairs the range holds. */
  get capacity(): number {
    return Math.floor((this.max - this.min + 1) / 2);
  }

  get inUseCount(): number {
    return this.inUse.size;
  }

  get quarantinedCount(): number {
    this.expireQuarantine();
    return this.quarantined.size;
  }

  isInUse(port: number): boolean {
    return this.inUse.has(port);
  }

  /** A lease on `count` distinct even ports, all free; throws NoFreePortsError when the range cannot supply them. */
  lease(count: number): PortLease {
    const ports = this.allocate(count);
    let active = true;
    const end = (how: (ports: number[]) => void) => {
      if (!active) return;
      active = false;
      how(ports);
    };
    return {
      ports,
      get active() {
        return active;
      },
      release: () => end((p) => this.release(p)),
      quarantine: () => end((p) => this.quarantine(p)),
    };
  }

  /** `count` distinct even ports, all free; throws NoFreePortsError when the range cannot supply them. */
  allocate(count: number): number[] {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`cannot allocate ${count} ports`);
    this.expireQuarantine();
    const picked: number[] = [];
    for (let step = 0; step < this.capacity && picked.length < count; step++) {
      const port = this.cursor;
      this.cursor = port + 2 + 1 > this.max ? this.min : port + 2;
      if (!this.inUse.has(port) && !this.quarantined.has(port)) picked.push(port);
    }
    if (picked.length < count) throw new NoFreePortsError(count, { min: this.min, max: this.max });
    for (const port of picked) this.inUse.add(port);
    return picked;
  }

  /** Returns ports to the pool. Releasing a port that is not in use does nothing (endings may race). */
  release(ports: Iterable<number>): void {
    for (const port of ports) this.inUse.delete(port);
  }

  /** Takes ports out of circulation for the quarantine period, whether or not they were in use. */
  quarantine(ports: Iterable<number>, ms = this.quarantineMs): void {
    const until = this.now() + ms;
    for (const port of ports) {
      if (port < this.min || port > this.max || port % 2 !== 0) continue;
      this.inUse.delete(port);
      this.quarantined.set(port, Math.max(until, this.quarantined.get(port) ?? 0));
    }
  }

  private expireQuarantine(): void {
    const now = this.now();
    for (const [port, until] of this.quarantined) if (until <= now) this.quarantined.delete(port);
  }
}
