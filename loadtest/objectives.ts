import { percentile } from '@recstack/testkit';

/** The service-level objectives a step must meet (LOAD_SLO_* overrides them). */
export interface Objectives {
  /** start request → first keyframe written, p95 */
  firstKeyframeP95Ms: number;
  /** stop request → `done`, p95 */
  stopP95Ms: number;
  /** a file's duration may differ from the time it ran by this much */
  durationToleranceSec: number;
  /** packets dropped at media's UDP sockets during the step */
  maxMediaDrops: number;
  /** recordings that ended `failed` */
  maxFailed: number;
}

export const DEFAULT_OBJECTIVES: Objectives = { firstKeyframeP95Ms: 1000, stopP95Ms: 2000, durationToleranceSec: 1.5, maxMediaDrops: 0, maxFailed: 0 };

/** What one recording of a step came to. `refused` recordings (503 AT_CAPACITY) are counted apart. */
export interface RecordingOutcome {
  status: 'done' | 'failed' | 'refused' | 'error';
  firstKeyframeMs: number | undefined;
  stopMs: number | undefined;
  /** problems found in the downloaded file (empty: clean) */
  problems: string[];
}

export interface StepFacts {
  recordings: RecordingOutcome[];
  /** packets media's UDP sockets dropped during the step; undefined when it cannot be read (remote stack) */
  mediaDrops: number | undefined;
}

export interface ObjectiveResult {
  name: string;
  held: boolean;
  /** the measured value, as text */
  value: string;
  limit: string;
}

export interface StepVerdict {
  held: boolean;
  objectives: ObjectiveResult[];
  refused: number;
}

/** Judges a step. A step with no recording that got going (all refused) does not hold: nothing was shown. */
export function judgeStep(facts: StepFacts, o: Objectives): StepVerdict {
  const attempted = facts.recordings.filter((r) => r.status !== 'refused');
  const refused = facts.recordings.length - attempted.length;
  const failed = attempted.filter((r) => r.status === 'failed' || r.status === 'error').length;
  const unclean = attempted.filter((r) => r.status === 'done' && r.problems.length > 0).length;
  const fk = attempted.flatMap((r) => (r.firstKeyframeMs === undefined ? [] : [r.firstKeyframeMs]));
  const stops = attempted.flatMap((r) => (r.stopMs === undefined ? [] : [r.stopMs]));
  const p95 = (v: number[]) => (v.length === 0 ? undefined : percentile(v, 95));
  const fkP95 = p95(fk);
  const stopP95 = p95(stops);
  const objectives: ObjectiveResult[] = [
    { name: 'recordings made (not refused)', held: attempted.length > 0, value: String(attempted.length), limit: '≥ 1' },
    { name: 'every file clean', held: unclean === 0, value: `${unclean} with problems`, limit: '0' },
    { name: 'no recording failed', held: failed <= o.maxFailed, value: `${failed} failed`, limit: `≤ ${o.maxFailed}` },
    {
      name: 'start → first keyframe p95',
      held: fkP95 !== undefined && fkP95 <= o.firstKeyframeP95Ms,
      value: fkP95 === undefined ? 'n/a' : `${fkP95.toFixed(0)} ms`,
      limit: `≤ ${o.firstKeyframeP95Ms} ms`,
    },
    {
      name: 'stop → done p95',
      held: stopP95 !== undefined && stopP95 <= o.stopP95Ms,
      value: stopP95 === undefined ? 'n/a' : `${stopP95.toFixed(0)} ms`,
      limit: `≤ ${o.stopP95Ms} ms`,
    },
    {
      name: "packets dropped at media's UDP sockets",
      held: facts.mediaDrops === undefined || facts.mediaDrops <= o.maxMediaDrops,
      value: facts.mediaDrops === undefined ? 'not readable (remote stack)' : String(facts.mediaDrops),
      limit: `≤ ${o.maxMediaDrops}`,
    },
  ];
  return { held: objectives.every((x) => x.held), objectives, refused };
}

/** Publishers of each find-capacity step: step, 2·step, … up to max (the last step may be smaller). */
export function stepSizes(step: number, max: number): number[] {
  const sizes: number[] = [];
  for (let n = step; n < max + step; n += step) sizes.push(Math.min(n, max));
  return [...new Set(sizes)];
}

/**
 * Runs steps until one breaks (or the sizes run out) and names the capacity: the last step that held,
 * if every step before it held too. `runStep` does the step and returns its verdict.
 */
export async function findCapacity<T extends { verdict: StepVerdict }>(
  sizes: readonly number[],
  runStep: (publishers: number, index: number) => Promise<T>,
): Promise<{ steps: Array<T & { publishers: number }>; capacity: number | undefined; brokeAt: number | undefined }> {
  const steps: Array<T & { publishers: number }> = [];
  let capacity: number | undefined;
  for (const [i, n] of sizes.entries()) {
    const step = { ...(await runStep(n, i)), publishers: n };
    steps.push(step);
    if (!step.verdict.held) return { steps, capacity, brokeAt: n };
    capacity = n;
  }
  return { steps, capacity, brokeAt: undefined };
}
