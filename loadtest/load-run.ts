import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PublisherStats, StackClient } from '@recstack/testkit';
import type { LoadConfig } from './load-config.js';
import { findCapacity, judgeStep, stepSizes, type StepVerdict } from './objectives.js';
import type { PublisherFleet } from './publisher-fleet.js';
import { beginRecording, checkFile, endRecording, newResult, rtpBetween, type RecordingResult } from './recording-run.js';

/** What is going on now, for the progress line and the timeline. */
export interface LiveState {
  step: number;
  steps: number;
  publishersUp: number;
  recording: number;
  refused: number;
  failed: number;
  /** Date.now() when the current phase ends (hold), or undefined */
  phaseEndsAt: number | undefined;
  phase: string;
}

export interface StepResult {
  index: number;
  publishers: number;
  startedAt: number;
  endedAt: number;
  /** the stretch when all of the step's recordings were running (Date.now ms) */
  steady: { from: number; to: number } | undefined;
  mediaDrops: number | undefined;
  verdict: StepVerdict;
}

export interface RunOutcome {
  recordings: RecordingResult[];
  steps: StepResult[];
  capacity: number | undefined;
  brokeAt: number | undefined;
  /** publishers refused at WHIP (503 AT_CAPACITY) or that could not publish */
  publishRefused: number;
  publishFailed: Array<{ publisher: number; message: string }>;
}

export interface RunContext {
  config: LoadConfig;
  client: StackClient;
  fleet: PublisherFleet;
  state: LiveState;
  /** media's UDP drops so far (monotonic), when readable */
  mediaDrops: () => number | undefined;
  log: (line: string) => void;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

/** The publisher numbers this generator owns (all of them unless several pods share the load). */
export function shareOf(total: number, shard: { index: number; count: number }): number[] {
  return Array.from({ length: total }, (_, i) => i).filter((i) => i % shard.count === shard.index);
}

class Publishers {
  readonly up = new Map<number, string>();
  refused = 0;
  readonly failed: Array<{ publisher: number; message: string }> = [];

  constructor(private readonly ctx: RunContext) {}

  /** Publishes the ones not up yet (a few at a time: the WHIP answers are cheap, ICE+DTLS less so). */
  async ensure(indexes: readonly number[]): Promise<void> {
    const missing = indexes.filter((i) => !this.up.has(i));
    await pool(missing, 8, async (i) => {
      const outcome = await this.ctx.fleet.publish(i);
      if (outcome.ok) {
        this.up.set(i, outcome.sessionId);
        this.ctx.state.publishersUp = this.up.size;
      } else if (outcome.refused) {
        this.refused++;
        this.ctx.state.refused++;
      } else {
        this.failed.push({ publisher: i, message: outcome.message });
        this.ctx.log(`publisher ${i}: ${outcome.message}`);
      }
    });
  }

  async drop(index: number): Promise<PublisherStats | undefined> {
    this.up.delete(index);
    this.ctx.state.publishersUp = this.up.size;
    return this.ctx.fleet.unpublish(index);
  }
}

/**
 * One step: every publisher up records at once (starts spread over the ramp), holds `seconds` after the
 * last start, all stop together, then every file is downloaded and checked (after the stops, so checking
 * never competes with the step it judges).
 */
async function runStep(
  ctx: RunContext,
  pubs: Publishers,
  index: number,
  targets: readonly number[],
  seconds: number,
): Promise<{ results: RecordingResult[]; step: StepResult }> {
  const { config, client, state } = ctx;
  const startedAt = Date.now();
  state.phase = 'publishing';
  await pubs.ensure(targets);
  const dropsBefore = ctx.mediaDrops();
  const live = targets.filter((i) => pubs.up.has(i));
  const refusedAtWhip = targets.length - live.length;
  state.phase = 'starting recordings';
  const rampMs = config.rampSeconds * 1000;
  if (!config.record) {
    // publish only: hold with every publisher sending, so the generator's and media's cost show alone
    state.phase = 'publishing only';
    state.phaseEndsAt = Date.now() + seconds * 1000;
    const from = Date.now();
    await sleep(seconds * 1000);
    state.phaseEndsAt = undefined;
    const verdict = judgeStep({ recordings: [], mediaDrops: undefined }, config.objectives);
    return {
      results: [],
      step: { index, publishers: live.length, startedAt, endedAt: Date.now(), steady: { from, to: Date.now() }, mediaDrops: undefined, verdict },
    };
  }
  const runs = live.map(async (publisher, k) => {
    await sleep((rampMs * k) / Math.max(1, live.length));
    const result = newResult(publisher, index);
    const before = await ctx.fleet.snapshot(publisher);
    const recording = await beginRecording(client, config.token, pubs.up.get(publisher) ?? '', result, config.audioCodec);
    if (recording) state.recording++;
    else if (result.status === 'refused') state.refused++;
    else state.failed++;
    return { publisher, result, recording, before };
  });
  const begun = await Promise.all(runs);
  const lastStart = Date.now();
  const steadyFrom = Math.max(startedAt, ...begun.flatMap((b) => (b.recording ? [b.result.startAskedAt + (b.result.firstKeyframeMs ?? 0)] : [])));
  // find-capacity stops a step's recordings together (the step ends as a whole); fixed mode holds each for
  // `seconds` from its own start, as users would
  const together = config.mode === 'find-capacity';
  const stopAt = (b: (typeof begun)[number]) => (together ? lastStart + seconds * 1000 - rampMs : b.result.startAskedAt + seconds * 1000);
  const stops = begun.filter((b) => b.recording).map(stopAt);
  const steadyTo = stops.length > 0 ? Math.min(...stops) : Date.now();
  state.phase = 'holding';
  state.phaseEndsAt = stops.length > 0 ? Math.max(...stops) : undefined;
  const ended = await Promise.all(
    begun.map(async (b) => {
      if (!b.recording) return { ...b, done: undefined };
      await sleep(Math.max(0, stopAt(b) - Date.now()));
      const done = await endRecording(client, b.recording, b.result);
      state.recording--;
      if (b.result.status !== 'done') state.failed++;
      b.result.rtp = rtpBetween(b.before, await ctx.fleet.snapshot(b.publisher));
      return { ...b, done };
    }),
  );
  state.phaseEndsAt = undefined;
  const dropsAfter = ctx.mediaDrops();
  state.phase = 'checking files';
  const dir = await mkdtemp(join(tmpdir(), 'recstack-load-'));
  try {
    await pool(ended, 2, async (e) => {
      if (e.done?.status === 'done') await checkFile(client, e.done, e.result, dir, config.objectives.durationToleranceSec);
      await rm(join(dir, e.done?.fileName ?? 'none'), { force: true });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const results = ended.map((e) => e.result);
  // a publisher WHIP refused stands for a refused recording: the step asked for it
  for (let k = 0; k < refusedAtWhip; k++) results.push({ ...newResult(-1, index), status: 'refused', error: 'publish refused (503 AT_CAPACITY)' });
  const mediaDrops = dropsBefore === undefined || dropsAfter === undefined ? undefined : dropsAfter - dropsBefore;
  const verdict = judgeStep({ recordings: results, mediaDrops }, config.objectives);
  return {
    results,
    step: {
      index,
      publishers: targets.length,
      startedAt,
      endedAt: Date.now(),
      steady: steadyTo > steadyFrom ? { from: steadyFrom, to: steadyTo } : undefined,
      mediaDrops,
      verdict,
    },
  };
}

/** Between find-capacity steps: twice the recorders' CPU window, after this harness's file checks. */
const SETTLE_MS = 5000;

export async function runLoad(ctx: RunContext): Promise<RunOutcome> {
  const { config, state } = ctx;
  const pubs = new Publishers(ctx);
  const recordings: RecordingResult[] = [];
  const steps: StepResult[] = [];
  let capacity: number | undefined;
  let brokeAt: number | undefined;
  if (config.mode === 'fixed') {
    state.steps = 1;
    state.step = 1;
    const { results, step } = await runStep(ctx, pubs, 0, shareOf(config.publishers, config.shard), config.seconds);
    recordings.push(...results);
    steps.push(step);
  } else {
    const sizes = stepSizes(config.step, config.maxPublishers);
    state.steps = sizes.length;
    const found = await findCapacity(sizes, async (n, i) => {
      state.step = i + 1;
      if (i > 0) {
        // the checks of the step before just ran on this machine, and the recorders' CPU admission looks
        // RECORDER_CPU_WINDOW_MS (2 s) back: without a pause they would count as the stack's load and refuse starts
        state.phase = 'settling';
        await sleep(SETTLE_MS);
      }
      const { results, step } = await runStep(ctx, pubs, i, shareOf(n, config.shard), config.stepSeconds);
      recordings.push(...results);
      steps.push(step);
      const broken = step.verdict.objectives.filter((o) => !o.held).map((o) => `${o.name}: ${o.value} (${o.limit})`);
      ctx.log(
        `step ${i + 1}: ${n} publishers ${step.verdict.held ? 'held' : `broke: ${broken.join('; ')}`}${step.verdict.refused ? `, ${step.verdict.refused} refused` : ''}`,
      );
      return step;
    });
    capacity = found.capacity;
    brokeAt = found.brokeAt;
  }
  state.phase = 'unpublishing';
  await pool([...pubs.up.keys()], 16, (i) => pubs.drop(i));
  return { recordings, steps, capacity, brokeAt, publishRefused: pubs.refused, publishFailed: pubs.failed };
}
