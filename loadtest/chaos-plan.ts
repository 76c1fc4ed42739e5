/** What LOAD_CHAOS asks for: events at seconds into the run (local stack only). */
export type ChaosAction = 'kill-recorder' | 'term-recorder' | 'restart-nats' | 'term-media' | 'kill-media';

export interface ChaosEvent {
  action: ChaosAction;
  atSeconds: number;
}

const ACTIONS: readonly ChaosAction[] = ['kill-recorder', 'term-recorder', 'restart-nats', 'term-media', 'kill-media'];

/** `kill-recorder@15,restart-nats@25,term-media@40` → events in time order; '' → none. */
export function parseChaos(spec: string): ChaosEvent[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((part) => {
    const m = /^\s*([a-z-]+)@(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!m) throw new Error(`"${part}" is not ACTION@SECONDS`);
    const action = m[1] as ChaosAction;
    if (!ACTIONS.includes(action)) throw new Error(`"${m[1]}" is not one of ${ACTIONS.join(', ')}`);
    return { action, atSeconds: Number(m[2]) };
  }).sort((a, b) => a.atSeconds - b.atSeconds);
}

/** How a chaos event touched one recording that was running when it happened. */
export type ChaosEffect = 'untouched' | 'gap' | 'failed' | 'lost';

export interface AffectedRecording {
  recordingId: string;
  effect: ChaosEffect;
  detail: string;
}

/**
 * Classifies a recording running across an event: `failed` when it ended failed (declared), `gap` when its
 * file is shorter than the time it ran by more than the tolerance but otherwise clean (a declared gap: the
 * file is fine, part of the time is missing), `lost` when the file has problems beyond a shorter duration
 * (undeclared damage), `untouched` otherwise.
 */
export function classifyEffect(r: { status: string; problems: readonly string[]; durationShortBySec: number | undefined }, toleranceSec: number): { effect: ChaosEffect; detail: string } {
  if (r.status === 'failed') return { effect: 'failed', detail: r.problems.join('; ') || 'ended failed' };
  const other = r.problems.filter((p) => !p.startsWith('lasts '));
  if (other.length > 0) return { effect: 'lost', detail: other.join('; ') };
  if (r.durationShortBySec !== undefined && r.durationShortBySec > toleranceSec) return { effect: 'gap', detail: `${r.durationShortBySec.toFixed(1)} s shorter than it ran` };
  return { effect: 'untouched', detail: '' };
}
