import type { NatsConnection } from 'nats';
import { rpc, type RecorderPong } from '@recstack/contracts';
import { LoadView, gather, type Clock, type Logger } from '@recstack/service-kit';

export interface RecorderLoad {
  recorderId: string;
  active: number;
  capacity: number;
  /** cost units the recorder can take and those its recordings use (both or neither: older recorders send neither) */
  capacityUnits?: number;
  loadUnits?: number;
}

/**
 * The share of a recorder still free, 0..1: of its cost units when it reports them (a recording's cost
 * depends on what it does, so counts alone overfill a recorder transcoding audio), of its recording count
 * otherwise. A recorder at its recording count (MAX_RECORDINGS) has nothing free either way.
 */
export function freeShare(l: RecorderLoad): number {
  if (l.capacity <= 0 || l.active >= l.capacity) return 0;
  if (l.capacityUnits !== undefined && l.loadUnits !== undefined && l.capacityUnits > 0) {
    return Math.max(0, (l.capacityUnits - l.loadUnits) / l.capacityUnits);
  }
  return (l.capacity - l.active) / l.capacity;
}

/**
 * The recorder with the largest free share of its capacity, a random one among equals; undefined when
 * every known recorder is full. Shares rather than amounts, so a recorder with room for 32 takes more
 * than one with room for 4.
 */
export function pickRecorder(loads: readonly RecorderLoad[], random: () => number = Math.random): string | undefined {
  const open = loads.filter((l) => freeShare(l) > 0);
  if (open.length === 0) return undefined;
  const most = Math.max(...open.map(freeShare));
  const best = open.filter((l) => freeShare(l) === most);
  return best[Math.min(best.length - 1, Math.floor(random() * best.length))]?.recorderId;
}

interface KnownLoad extends RecorderLoad {
  /** what one more recording is counted as between two pongs: the average of its current ones */
  unitsPerRecording: number;
}

function knownLoad(p: RecorderPong): KnownLoad {
  const load: KnownLoad = { recorderId: p.recorderId, active: p.active, capacity: p.capacity, unitsPerRecording: 0 };
  if (p.capacityUnits !== undefined && p.loadUnits !== undefined) {
    load.capacityUnits = p.capacityUnits;
    load.loadUnits = p.loadUnits;
    load.unitsPerRecording = p.active > 0 ? p.loadUnits / p.active : p.capacity > 0 ? p.capacityUnits / p.capacity : 0;
  }
  return load;
}

/**
 * Where media believes each recorder stands, so that a start goes to the least loaded one instead of
 * wherever the NATS queue group happens to deliver it (which put 7 of 8 recordings on one of two
 * recorders in a load test). The view comes from the recorders' pongs every `refreshMs`, and between
 * two refreshes media counts its own placements in, so a burst of starts spreads out at once. Without
 * a view (no pong yet, or every recorder full) the queue group decides, as before.
 */
export class RecorderPlacement {
  private readonly view: LoadView<KnownLoad>;

  constructor(nc: NatsConnection, logger: Logger, options: { refreshMs: number; pingWaitMs: number; clock?: Clock }) {
    this.view = new LoadView({
      refreshMs: options.refreshMs,
      poll: async () => (await gather(nc, rpc.recorder.ping, {}, options.pingWaitMs)).map(knownLoad),
      idOf: (l) => l.recorderId,
      onError: (err) => logger.warn({ err }, 'recorder load refresh failed'),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  start(): void {
    this.view.start();
  }

  close(): void {
    this.view.close();
  }

  /** Asks every recorder for its load; one refresh at a time. */
  refresh(): Promise<void> {
    return this.view.refresh();
  }

  /**
   * The recorder to ask first, counted as taking the recording at once so that starts arriving together
   * spread out; undefined lets the queue group choose. Undo with `release` if the recorder does not take it.
   */
  reserve(exclude?: string): string | undefined {
    const chosen = pickRecorder(this.view.fresh(exclude));
    if (chosen !== undefined) this.placed(chosen);
    return chosen;
  }

  release(recorderId: string): void {
    const load = this.view.get(recorderId);
    if (!load) return;
    load.active = Math.max(0, load.active - 1);
    if (load.loadUnits !== undefined) load.loadUnits = Math.max(0, load.loadUnits - load.unitsPerRecording);
  }

  /** A recorder took a recording: count it until its next pong says where it stands. */
  placed(recorderId: string): void {
    const load = this.view.get(recorderId);
    if (!load) return;
    load.active += 1;
    if (load.loadUnits !== undefined) load.loadUnits += load.unitsPerRecording;
  }

  /** A recorder said it is full. */
  full(recorderId: string): void {
    const load = this.view.get(recorderId);
    if (!load) return;
    load.active = Math.max(load.active, load.capacity);
    if (load.loadUnits !== undefined && load.capacityUnits !== undefined) load.loadUnits = Math.max(load.loadUnits, load.capacityUnits);
  }

  /** A recorder did not answer on its own subject (gone, or older than that subject). */
  forget(recorderId: string): void {
    this.view.forget(recorderId);
  }
}
