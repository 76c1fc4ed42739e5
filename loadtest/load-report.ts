import { percentile } from '@recstack/testkit';
import { attributeChaos, declaredGapMs, type AffectedRecording, type ChaosEvent } from './chaos-plan.js';
import type { LoadConfig } from './load-config.js';
import type { StepVerdict } from './objectives.js';
import type { RelayTotals } from './publisher-fleet.js';
import type { RecordingResult } from './recording-run.js';
import type { StepResult } from './load-run.js';
import { usageBetween, usageTimeline, type UsageSample } from './usage-sampler.js';

export interface Spread {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { count: values.length, p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

/** A service's CPU while a step's recordings all ran, and what one recording cost it. */
export interface StepCost {
  name: string;
  cpuPercent: number;
  peakRssMiB: number;
  /** % of one core per running recording; the generator's is per publisher */
  perRecording: number | undefined;
}

export interface ChaosRecord {
  action: string;
  atSeconds: number;
  done: string;
  affected: AffectedRecording[];
}

/** Everything a run found: written as JSON, rendered as Markdown and HTML. Times in the timeline are seconds from the start. */
export interface LoadReport {
  version: 1;
  startedAt: string;
  seconds: number;
  machine: string;
  target: string;
  publishers: string;
  settings: Record<string, string | number | boolean>;
  mode: LoadConfig['mode'];
  capacity: number | undefined;
  brokeAt: number | undefined;
  steps: Array<{
    index: number;
    publishers: number;
    /** its recordings that got going (a first keyframe written; publish only: its publishers): what cost is divided by */
    recording: number;
    held: boolean;
    refused: number;
    mediaDrops: number | undefined;
    objectives: StepVerdict['objectives'];
    steadySeconds: number;
    cost: StepCost[];
  }>;
  totals: { recordings: number; clean: number; failed: number; refused: number; withProblems: number; publishRefused: number; publishFailed: number };
  firstKeyframeMs: Spread | undefined;
  stopMs: Spread | undefined;
  recorders: Record<string, number>;
  /** CPU % of one core and RSS MiB per process tree, per sample */
  usage: Array<{ t: number; cpu: Record<string, number>; rssMiB: Record<string, number> }>;
  /** recordings running, publishers up, media's UDP drops so far */
  activity: Array<{ t: number; recording: number; publishersUp: number; mediaDrops: number | undefined }>;
  mediaDrops: number | undefined;
  /** the same by media's local port (its WebRTC range is MEDIA_UDP_PORT_MIN..MAX) */
  mediaDropsByPort: Record<string, number>;
  relay: RelayTotals | undefined;
  chaos: ChaosRecord[];
  recordings: Array<{
    publisher: number;
    step: number;
    id: string | undefined;
    recorder: string | undefined;
    status: string;
    firstKeyframeMs: number | undefined;
    stopMs: number | undefined;
    durationSec: number | undefined;
    expectedSec: number | undefined;
    sizeBytes: number | undefined;
    rtpSent: number | undefined;
    rtpLost: number | undefined;
    nacks: number | undefined;
    retransmitted: number | undefined;
    verdict: string;
  }>;
}

export interface ActivitySample {
  at: number;
  recording: number;
  publishersUp: number;
  mediaDrops: number | undefined;
}

export interface ReportInput {
  config: LoadConfig;
  startedAt: number;
  endedAt: number;
  machine: string;
  target: string;
  publishers: string;
  recordings: readonly RecordingResult[];
  steps: readonly StepResult[];
  capacity: number | undefined;
  brokeAt: number | undefined;
  publishRefused: number;
  publishFailed: number;
  usage: readonly UsageSample[];
  activity: readonly ActivitySample[];
  relay: RelayTotals | undefined;
  chaos: Array<{ event: ChaosEvent; at: number; done: string }>;
  mediaDropsByPort: Record<string, number>;
}

/** A recording's verdict in one phrase: `clean`, `refused`, or what went wrong. */
export function verdictOf(r: RecordingResult): string {
  if (r.status === 'refused') return 'refused (503 AT_CAPACITY)';
  if (r.status !== 'done') return `${r.status}: ${r.error ?? 'no error given'}`;
  return r.problems.length === 0 ? 'clean' : r.problems.join('; ');
}

/** Per step: each tree's CPU while all of its recordings ran, and that divided by the recordings. */
export function stepCost(step: StepResult, usage: readonly UsageSample[], running: number): StepCost[] {
  if (!step.steady) return [];
  return usageBetween(usage, step.steady.from, step.steady.to).map((u) => ({
    name: u.name,
    cpuPercent: u.cpuPercent,
    peakRssMiB: u.peakRssMiB,
    perRecording: running > 0 ? u.cpuPercent / running : undefined,
  }));
}

/** Which recordings ran across each chaos event, and what became of them. */
export function chaosEffects(chaos: ReportInput['chaos'], recordings: readonly RecordingResult[], toleranceSec: number): ChaosRecord[] {
  const events = chaos.map((c, i) => ({ key: String(i), at: c.at }));
  const subjects = recordings
    .filter((r) => r.recordingId && r.status !== 'refused')
    .map((r) => ({
      recordingId: r.recordingId ?? '',
      status: r.status,
      problems: r.status === 'done' ? r.problems : [r.error ?? 'ended badly'],
      startAskedAt: r.startAskedAt,
      stopAskedAt: r.stopAskedAt,
      // a file's declared gaps are time it ran without media: its media ends that much later than its length says
      fileEndAt:
        r.durationMs !== undefined && r.firstKeyframeMs !== undefined ? r.startAskedAt + r.firstKeyframeMs + r.durationMs + declaredGapMs(r.gaps) : undefined,
      durationShortBySec: r.expectedSec !== undefined && r.durationMs !== undefined ? r.expectedSec - (r.durationMs + declaredGapMs(r.gaps)) / 1000 : undefined,
      stopReason: r.stopReason,
      handover: r.segments !== undefined && r.segments > 1 ? { segments: r.segments, gaps: r.gaps ?? [], at: r.handoverAt } : undefined,
    }));
  const affected = attributeChaos(events, subjects, toleranceSec);
  return chaos.map(({ event, done }, i) => ({ action: event.action, atSeconds: event.atSeconds, done, affected: affected.get(String(i)) ?? [] }));
}

export function buildReport(input: ReportInput): LoadReport {
  const { config, recordings } = input;
  const defined = (values: Array<number | undefined>) => values.filter((v): v is number => v !== undefined);
  const recorders: Record<string, number> = {};
  for (const r of recordings) if (r.recorderId) recorders[r.recorderId] = (recorders[r.recorderId] ?? 0) + 1;
  const made = recordings.filter((r) => r.status !== 'refused');
  const lastDrops = input.activity.at(-1)?.mediaDrops;
  const firstDrops = input.activity[0]?.mediaDrops;
  return {
    version: 1,
    startedAt: new Date(input.startedAt).toISOString(),
    seconds: Math.round((input.endedAt - input.startedAt) / 1000),
    machine: input.machine,
    target: input.target,
    publishers: input.publishers,
    settings: settingsOf(config),
    mode: config.mode,
    capacity: input.capacity,
    brokeAt: input.brokeAt,
    steps: input.steps.map((s) => {
      const running =
        recordings.filter((r) => r.step === s.index && r.status !== 'refused' && r.firstKeyframeMs !== undefined).length || (config.record ? 0 : s.publishers);
      return {
        index: s.index + 1,
        publishers: s.publishers,
        recording: running,
        held: s.verdict.held,
        refused: s.verdict.refused,
        mediaDrops: s.mediaDrops,
        objectives: s.verdict.objectives,
        steadySeconds: s.steady ? Math.round((s.steady.to - s.steady.from) / 100) / 10 : 0,
        cost: stepCost(s, input.usage, running).map((c) =>
          c.name === 'generator' ? { ...c, perRecording: s.publishers > 0 ? c.cpuPercent / s.publishers : undefined } : c,
        ),
      };
    }),
    totals: {
      recordings: recordings.length,
      clean: recordings.filter((r) => r.status === 'done' && r.problems.length === 0).length,
      failed: made.filter((r) => r.status === 'failed' || r.status === 'error').length,
      refused: recordings.length - made.length,
      withProblems: made.filter((r) => r.status === 'done' && r.problems.length > 0).length,
      publishRefused: input.publishRefused,
      publishFailed: input.publishFailed,
    },
    firstKeyframeMs: spread(defined(made.map((r) => r.firstKeyframeMs))),
    stopMs: spread(defined(made.map((r) => r.stopMs))),
    recorders,
    usage: usageTimeline(input.usage, input.startedAt),
    activity: input.activity.map((a) => ({
      t: Math.round((a.at - input.startedAt) / 100) / 10,
      recording: a.recording,
      publishersUp: a.publishersUp,
      mediaDrops: a.mediaDrops,
    })),
    mediaDrops: lastDrops === undefined || firstDrops === undefined ? undefined : lastDrops - firstDrops,
    mediaDropsByPort: input.mediaDropsByPort,
    relay: input.relay,
    chaos: chaosEffects(input.chaos, recordings, config.objectives.durationToleranceSec),
    recordings: recordings.map((r) => ({
      publisher: r.publisher,
      step: r.step + 1,
      id: r.recordingId,
      recorder: r.recorderId,
      status: r.status,
      firstKeyframeMs: r.firstKeyframeMs,
      stopMs: r.stopMs,
      durationSec: r.durationMs === undefined ? undefined : r.durationMs / 1000,
      expectedSec: r.expectedSec,
      sizeBytes: r.sizeBytes,
      rtpSent: r.rtp?.sent,
      rtpLost: r.rtp?.lost,
      nacks: r.rtp?.nacks,
      retransmitted: r.rtp?.retransmitted,
      verdict: verdictOf(r),
    })),
  };
}

function settingsOf(c: LoadConfig): Record<string, string | number | boolean> {
  return {
    LOAD_MODE: c.mode,
    LOAD_PUBLISHER: c.publisher,
    ...(c.mode === 'fixed'
      ? { LOAD_PUBLISHERS: c.publishers, LOAD_SECONDS: c.seconds }
      : { LOAD_STEP: c.step, LOAD_STEP_SECONDS: c.stepSeconds, LOAD_MAX_PUBLISHERS: c.maxPublishers }),
    LOAD_RECORD: c.record,
    LOAD_RAMP_SECONDS: c.rampSeconds,
    LOAD_CODEC: c.codec,
    LOAD_AUDIO: c.audioCodec ?? 'server default',
    LOAD_RESOLUTION: `${c.width}x${c.height}`,
    LOAD_KBPS: c.kbps,
    LOAD_FPS: c.fps,
    LOAD_KEYFRAME_SECONDS: c.keyframeSeconds,
    LOAD_ALIGNED: c.aligned,
    LOAD_PLI: c.honourPli,
    LOAD_PACING: c.pacing,
    LOAD_LOSS: c.impairments.lossPercent,
    LOAD_JITTER_MS: c.impairments.jitterMs,
    LOAD_REORDER: c.impairments.reorderPercent,
    LOAD_BANDWIDTH_KBPS: c.impairments.bandwidthKbps,
    LOAD_CHAOS: c.chaos.map((e) => `${e.action}@${e.atSeconds}`).join(','),
    LOAD_RECORDERS: c.recorders,
    LOAD_ENGINE: c.engine,
    LOAD_SHARD: `${c.shard.index}/${c.shard.count}`,
  };
}

const ms = (s: Spread | undefined) => (s ? `${s.p50.toFixed(0)} / ${s.p95.toFixed(0)} / ${s.max.toFixed(0)}` : 'n/a');
const num = (v: number | undefined, digits = 1) => (v === undefined ? 'n/a' : v.toFixed(digits));

/**
 * What the last step that held shows: its publishers, and how many of them recorded when the stack refused
 * some (a step holds with refusals: every accepted recording met the objectives, the rest got a 503).
 */
export function capacityPhrase(r: Pick<LoadReport, 'capacity' | 'steps'>): string {
  if (r.capacity === undefined) return 'no step held';
  const refused = r.steps.find((s) => s.held && s.publishers === r.capacity)?.refused ?? 0;
  return refused > 0
    ? `held at ${r.capacity} publishers (${r.capacity - refused} recording at once, ${refused} refused with 503)`
    : `${r.capacity} concurrent recordings held`;
}

/** What the cost section measured: the recordings that ran at once, out of the step's publishers when fewer. */
export function costHeading(step: Pick<LoadReport['steps'][number], 'index' | 'publishers' | 'recording' | 'refused'>, record: boolean): string {
  if (!record) return `Cost while all ${step.publishers} publishers of step ${step.index} published (no recording)`;
  if (step.recording >= step.publishers) return `Cost while all ${step.publishers} of step ${step.index} recorded`;
  const failed = step.publishers - step.recording - step.refused;
  const why = [step.refused > 0 ? `${step.refused} refused` : '', failed > 0 ? `${failed} did not get going` : ''].filter(Boolean).join(', ');
  return `Cost while ${step.recording} of the ${step.publishers} publishers of step ${step.index} recorded (${why})`;
}

export function renderMarkdown(r: LoadReport): string {
  const lines: string[] = [];
  const title =
    r.mode === 'find-capacity'
      ? `# Load test: find-capacity → ${capacityPhrase(r)}${r.brokeAt !== undefined ? `, broke at ${r.brokeAt}` : r.capacity !== undefined ? ' (the largest step asked; it did not break)' : ''}`
      : r.settings.LOAD_RECORD === false
        ? `# Load test: ${r.steps[0]?.publishers ?? 0} publishers publishing only (no recording)`
        : `# Load test: ${r.totals.recordings} recordings`;
  lines.push(title, '', `${r.machine}. Target: ${r.target}. Started ${r.startedAt}, ran ${r.seconds} s.`, '', `Publishers: ${r.publishers}.`, '');
  lines.push(
    `Settings: ${Object.entries(r.settings)
      .filter(([, v]) => v !== '' && v !== 0 && v !== false)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(' ')}`,
    '',
  );
  lines.push('| | |', '|---|---|');
  lines.push(`| recordings clean (done, downloaded, every file check passed) | ${r.totals.clean} of ${r.totals.recordings} |`);
  lines.push(`| failed / file problems / refused (503 AT_CAPACITY) | ${r.totals.failed} / ${r.totals.withProblems} / ${r.totals.refused} |`);
  lines.push(`| start request → first keyframe written, ms (p50 / p95 / max) | ${ms(r.firstKeyframeMs)} |`);
  lines.push(`| stop request → done, ms (p50 / p95 / max) | ${ms(r.stopMs)} |`);
  lines.push(
    `| recordings per recorder | ${
      Object.entries(r.recorders)
        .map(([id, n]) => `${id}: ${n}`)
        .join(', ') || 'n/a'
    } |`,
  );
  const byPort = Object.entries(r.mediaDropsByPort)
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${p}: ${n}`)
    .join(', ');
  lines.push(`| packets dropped at media's UDP sockets | ${r.mediaDrops ?? 'not readable (remote stack)'}${byPort ? ` (port: count ${byPort})` : ''} |`);
  if (r.relay) {
    const u = r.relay.upstream;
    lines.push(`| relay publisher → media: received / lost / queue-dropped / reordered | ${u.received} / ${u.lost} / ${u.queueDropped} / ${u.reordered} |`);
  }
  lines.push('');
  lines.push(
    '## Steps',
    '',
    '| step | publishers | held | refused | media drops | all recording for s | objectives broken |',
    '|---:|---:|---|---:|---:|---:|---|',
  );
  for (const s of r.steps) {
    const broken = s.objectives
      .filter((o) => !o.held)
      .map((o) => `${o.name}: ${o.value} (${o.limit})`)
      .join('; ');
    lines.push(`| ${s.index} | ${s.publishers} | ${s.held ? 'yes' : 'no'} | ${s.refused} | ${s.mediaDrops ?? 'n/a'} | ${s.steadySeconds} | ${broken || '-'} |`);
  }
  lines.push('');
  const last = [...r.steps].reverse().find((s) => s.cost.length > 0);
  if (last) {
    lines.push(
      `## ${costHeading(last, r.settings.LOAD_RECORD !== false)}`,
      '',
      "Each row a process and its children; % of one core. The generator (this harness: publishers, relay, file checks) is shown apart and never counted as the stack's; its per-recording figure is per publisher.",
      '',
    );
    lines.push('| process | CPU % | per recording, % of a core | peak RSS MiB |', '|---|---:|---:|---:|');
    for (const c of last.cost) lines.push(`| ${c.name} | ${num(c.cpuPercent)} | ${num(c.perRecording, 2)} | ${c.peakRssMiB.toFixed(0)} |`);
    const stack = last.cost.filter((c) => c.name !== 'generator');
    if (stack.length > 0)
      lines.push(
        `| **stack total** | ${num(stack.reduce((a, c) => a + c.cpuPercent, 0))} | ${num(
          stack.reduce((a, c) => a + (c.perRecording ?? 0), 0),
          2,
        )} | ${stack.reduce((a, c) => a + c.peakRssMiB, 0).toFixed(0)} |`,
      );
    lines.push('');
  }
  if (r.chaos.length > 0) {
    lines.push('## Chaos', '');
    for (const c of r.chaos) {
      const counts: Record<string, number> = {};
      for (const a of c.affected) counts[a.effect] = (counts[a.effect] ?? 0) + 1;
      lines.push(
        `- **${c.action}@${c.atSeconds}**: ${c.done}. Recordings running: ${c.affected.length} (${
          Object.entries(counts)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || 'none'
        })`,
      );
      for (const a of c.affected.filter((x) => x.effect !== 'untouched' && x.effect !== 'ended before'))
        lines.push(`  - ${a.recordingId}: ${a.effect}${a.detail ? ` (${a.detail})` : ''}`);
    }
    lines.push('');
  }
  const bad = r.recordings.filter((x) => x.verdict !== 'clean');
  if (bad.length > 0) {
    lines.push('## Recordings that were not clean', '');
    for (const x of bad.slice(0, 60)) lines.push(`- step ${x.step}, publisher ${x.publisher}${x.id ? ` (${x.id})` : ''}: ${x.verdict}`);
    if (bad.length > 60) lines.push(`- … and ${bad.length - 60} more (the JSON has every one)`);
    lines.push('');
  }
  lines.push(
    "The HTML report next to this file draws CPU and memory over time, recordings running, latency distributions, RTP loss per recording and every file's verdict; the JSON holds the data.",
    '',
  );
  return lines.join('\n');
}
