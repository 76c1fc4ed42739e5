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
  return spec
    .split(',')
    .map((part) => {
      const m = /^\s*([a-z-]+)@(\d+(?:\.\d+)?)\s*$/.exec(part);
      if (!m) throw new Error(`"${part}" is not ACTION@SECONDS`);
      const action = m[1] as ChaosAction;
      if (!ACTIONS.includes(action)) throw new Error(`"${m[1]}" is not one of ${ACTIONS.join(', ')}`);
      return { action, atSeconds: Number(m[2]) };
    })
    .sort((a, b) => a.atSeconds - b.atSeconds);
}

/** How a chaos event touched one recording that was running when it happened. */
export type ChaosEffect = 'untouched' | 'handed over' | 'gap' | 'failed' | 'lost' | 'ended before';

/** A recording that moved to another recorder (catalog `segments` > 1), with the gaps its file declares. */
export interface Handover {
  segments: number;
  gaps: ReadonlyArray<{ atMs: number; ms: number }>;
  /** when its second segment began (Date.now ms), if known */
  at: number | undefined;
}

/** the media declared gaps say is missing from a file, ms */
export function declaredGapMs(gaps: ReadonlyArray<{ ms: number }> | undefined): number {
  return (gaps ?? []).reduce((sum, g) => sum + g.ms, 0);
}

export interface AffectedRecording {
  recordingId: string;
  effect: ChaosEffect;
  detail: string;
}

/**
 * Classifies a recording running across an event: `failed` when it ended failed (declared), `lost` when its
 * file has problems beyond a shorter duration (undeclared damage), `gap` when its file is shorter than the
 * time it ran, less the gaps it declares, by more than the tolerance but otherwise clean (part of the time
 * is missing), `handed over` when it moved to another recorder and its file is whole but for its declared
 * gaps (the detail gives them), `untouched` otherwise. `durationShortBySec` already counts the declared gaps
 * as recorded time.
 */
export function classifyEffect(
  r: { status: string; problems: readonly string[]; durationShortBySec: number | undefined; handover?: Handover | undefined },
  toleranceSec: number,
): { effect: ChaosEffect; detail: string } {
  if (r.status === 'failed') return { effect: 'failed', detail: r.problems.join('; ') || 'ended failed' };
  // a file shorter than it ran is the cut the effect names; one longer than it ran is damage like any other
  const shortBySec = r.durationShortBySec ?? 0;
  const short = shortBySec > toleranceSec;
  const other = r.problems.filter((p) => !(p.startsWith('lasts ') && short));
  if (other.length > 0) return { effect: 'lost', detail: other.join('; ') };
  const moved = r.handover ? `; ${describeHandover(r.handover)}` : '';
  if (short) return { effect: 'gap', detail: `${shortBySec.toFixed(1)} s shorter than it ran${moved}` };
  if (r.handover) return { effect: 'handed over', detail: describeHandover(r.handover) };
  return { effect: 'untouched', detail: '' };
}

/** `2 segments, gap 1.2 s at 14.3 s` / `2 segments, no gap` */
export function describeHandover(h: Handover): string {
  const gaps = h.gaps.filter((g) => g.ms > 0);
  const said = gaps.length === 0 ? 'no gap' : gaps.map((g) => `gap ${(g.ms / 1000).toFixed(1)} s at ${(g.atMs / 1000).toFixed(1)} s`).join(', ');
  return `${h.segments} segments, ${said}`;
}

/** A recording as chaos attribution needs it (Date.now ms). */
export interface ChaosSubject {
  recordingId: string;
  status: string;
  problems: readonly string[];
  startAskedAt: number;
  stopAskedAt: number | undefined;
  /** when the file's media ends: start + first keyframe + its duration + its declared gaps; undefined without a file */
  fileEndAt: number | undefined;
  durationShortBySec: number | undefined;
  stopReason: string | undefined;
  /** set when it moved to another recorder */
  handover?: Handover | undefined;
}

/**
 * Per event, the recordings it could have touched and how. A recording's damage (failed, shorter, broken)
 * is laid on the last event before its file ended (or before its stop, without a file): that event cut it;
 * a handed-over recording's move on the last event before its second segment began.
 * Events after the file ended say `ended before`; events the file ran on past say `untouched` (a problem
 * of the file other than its length would then show under the event that cut it, or none).
 */
export function attributeChaos(
  events: ReadonlyArray<{ key: string; at: number }>,
  recordings: readonly ChaosSubject[],
  toleranceSec: number,
): Map<string, AffectedRecording[]> {
  const out = new Map<string, AffectedRecording[]>(events.map((e) => [e.key, []]));
  const tolMs = toleranceSec * 1000;
  for (const r of recordings) {
    const end = r.fileEndAt ?? r.stopAskedAt ?? Infinity;
    const across = events.filter((e) => e.at >= r.startAskedAt && e.at <= (r.stopAskedAt ?? Infinity));
    // a recording that moved was moved by the last event before its next segment began (it ran on past it)
    const handoverAt = r.handover?.at;
    const movedBy = handoverAt === undefined ? undefined : [...across].reverse().find((e) => e.at <= handoverAt);
    const cause = movedBy ?? [...across].reverse().find((e) => e.at <= end + tolMs);
    for (const e of across) {
      const reason = r.stopReason && r.stopReason !== 'requested' ? `, stop reason ${r.stopReason}` : '';
      let effect: { effect: ChaosEffect; detail: string };
      if (e === cause) effect = classifyEffect(r, toleranceSec);
      else if (e.at > end + tolMs) effect = { effect: 'ended before', detail: 'its file had ended already' };
      else effect = { effect: 'untouched', detail: 'its file ran on past it' };
      out.get(e.key)?.push({ recordingId: r.recordingId, effect: effect.effect, detail: `${effect.detail}${e === cause ? reason : ''}` });
    }
  }
  return out;
}
