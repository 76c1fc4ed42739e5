import { recordingCost, type RecorderStartRequest, type RecordingCostTable } from '@recstack/contracts';
import { AtCapacityError } from '../errors.js';

export interface AdmissionSettings {
  /** RECORDER_CAPACITY_UNITS: the summed cost of recordings this recorder takes at once */
  capacityUnits: number;
  /** RECORDER_MAX_CPU: no start while the machine (or cgroup) is busier than this, in % */
  maxCpuPercent: number;
  /** MAX_RECORDINGS: a count limit as well, whatever the costs */
  maxRecordings: number;
  costs: RecordingCostTable;
}

export type AdmissionDecision = { ok: true; cost: number } | { ok: false; reason: 'count' | 'cost' | 'cpu'; cost: number; message: string };

/** What the recorder's load looks like when a start is asked. */
export interface LoadNow {
  running: number;
  loadUnits: number;
  /** undefined: not measured yet (the recorder just started): the CPU rule does not apply */
  cpuPercent: number | undefined;
}

/**
 * The admission rule, pure: a start fits when the count, the summed cost and the measured CPU all leave
 * room (RECORDER_MAX_CPU=100: no CPU rule). The CPU rule refuses only while some recording runs here: an idle recorder on a machine busy with
 * other work still takes one (otherwise a busy shared host would record nothing, and the cost rule bounds
 * what it takes).
 */
export function decide(settings: AdmissionSettings, request: RecorderStartRequest, load: LoadNow): AdmissionDecision {
  const cost = recordingCost(settings.costs, request);
  if (load.running >= settings.maxRecordings) {
    return { ok: false, reason: 'count', cost, message: `this recorder already runs its maximum of ${settings.maxRecordings} recordings` };
  }
  if (load.loadUnits + cost > settings.capacityUnits) {
    return {
      ok: false,
      reason: 'cost',
      cost,
      message: `this recording (cost ${cost}) does not fit: ${load.loadUnits} of ${settings.capacityUnits} cost units in use`,
    };
  }
  // 100 turns the rule off: a saturated machine reads 100, and "never busier than 100 %" means no limit
  if (settings.maxCpuPercent < 100 && load.running > 0 && load.cpuPercent !== undefined && load.cpuPercent >= settings.maxCpuPercent) {
    return { ok: false, reason: 'cpu', cost, message: `the recorder's CPU is ${Math.round(load.cpuPercent)} % busy (limit ${settings.maxCpuPercent} %)` };
  }
  return { ok: true, cost };
}

/**
 * The recorder's ledger of what its running recordings cost. `admit` is the start handler's one call: it
 * refuses with AtCapacityError or books the cost; `release` gives it back when the recording ends (or
 * never started).
 */
export class Admission {
  private readonly booked = new Map<string, number>();

  constructor(
    readonly settings: AdmissionSettings,
    private readonly cpuPercent: () => number | undefined,
  ) {}

  get loadUnits(): number {
    let sum = 0;
    for (const cost of this.booked.values()) sum += cost;
    return sum;
  }

  /** Throws AtCapacityError, or books the recording's cost and returns it. */
  admit(request: RecorderStartRequest): number {
    const decision = decide(this.settings, request, { running: this.booked.size, loadUnits: this.loadUnits, cpuPercent: this.cpuPercent() });
    if (!decision.ok) throw new AtCapacityError(decision.message, decision.reason);
    this.booked.set(request.recordingId, decision.cost);
    return decision.cost;
  }

  release(recordingId: string): void {
    this.booked.delete(recordingId);
  }

  /** The pong's admission fields (see RecorderPongSchema). */
  pongFields(): { capacityUnits: number; loadUnits: number; costs: RecordingCostTable; cpuPercent: number | null; maxCpuPercent: number } {
    const cpu = this.cpuPercent();
    return {
      capacityUnits: this.settings.capacityUnits,
      loadUnits: this.loadUnits,
      costs: this.settings.costs,
      cpuPercent: cpu === undefined ? null : Math.round(cpu * 10) / 10,
      maxCpuPercent: this.settings.maxCpuPercent,
    };
  }
}
