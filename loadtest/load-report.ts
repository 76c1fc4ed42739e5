import { percentile } from '@recstack/testkit';
import type { LoadConfig } from './load-config.js';
import type { PublisherResult } from './publisher-run.js';
import type { WindowUsage } from './usage-sampler.js';

export interface Spread {
  p50: number;
  p95: number;
  max: number;
}

export interface LoadSummary {
  publishers: number;
  good: number;
  failed: Array<{ index: number; recordingId: string | undefined; problems: string[] }>;
  firstKeyframeMs: Spread | undefined;
  stopMs: Spread | undefined;
  recorders: Record<string, number>;
  /** the stretch when every publisher that got going was recording at once */
  steadySeconds: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { p50: percentile(values, 50), p95: percentile(values, 95), max: Math.max(...values) };
}

/** The stretch when all recordings that started were running: from the last one live to the first stop. */
export function steadyWindow(results: readonly PublisherResult[]): { from: number; to: number } | undefined {
  const live = results.filter((r) => r.recordingSince !== undefined && r.stopAskedAt !== undefined);
  if (live.length === 0) return undefined;
  const from = Math.max(...live.map((r) => r.recordingSince ?? 0));
  const to = Math.min(...live.map((r) => r.stopAskedAt ?? 0));
  return to > from ? { from, to } : undefined;
}

export function summarize(results: readonly PublisherResult[]): LoadSummary {
  const defined = (values: Array<number | undefined>) => values.filter((v): v is number => v !== undefined);
  const recorders: Record<string, number> = {};
  for (const r of results) if (r.recorderId) recorders[r.recorderId] = (recorders[r.recorderId] ?? 0) + 1;
  const window = steadyWindow(results);
  return {
    publishers: results.length,
    good: results.filter((r) => r.problems.length === 0).length,
    failed: results.filter((r) => r.problems.length > 0).map((r) => ({ index: r.index, recordingId: r.recordingId, problems: r.problems })),
    firstKeyframeMs: spread(defined(results.map((r) => r.firstKeyframeMs))),
    stopMs: spread(defined(results.map((r) => r.stopMs))),
    recorders,
    steadySeconds: window ? (window.to - window.from) / 1000 : 0,
  };
}

const ms = (s: Spread | undefined) => (s ? `${s.p50.toFixed(0)} / ${s.p95.toFixed(0)} / ${s.max.toFixed(0)}` : 'n/a');

export function renderMarkdown(config: LoadConfig, target: string, summary: LoadSummary, usage: readonly WindowUsage[], machine: string): string {
  const lines = [
    `# Load test: ${summary.publishers} publishers, ${config.seconds} s each`,
    '',
    `${machine}. Target: ${target}. Publishers: Chromium pages with the fake camera, ${config.codec.toUpperCase()} at up to ${config.width}x${config.height} + Opus, starting over ${config.rampSeconds} s.`,
    '',
    `| recordings right (done, downloaded, every file check passed) | ${summary.good} of ${summary.publishers} |`,
    '|---|---|',
    `| start request → first keyframe written, ms (p50 / p95 / max) | ${ms(summary.firstKeyframeMs)} |`,
    `| stop request → finalized file, ms (p50 / p95 / max) | ${ms(summary.stopMs)} |`,
    `| recordings per recorder | ${Object.entries(summary.recorders).map(([id, n]) => `${id}: ${n}`).join(', ') || 'n/a'} |`,
    `| all recording at once for | ${summary.steadySeconds.toFixed(1)} s |`,
    '',
  ];
  if (usage.length > 0) {
    lines.push('While all were recording (each row a process and its children; % of one core):', '', '| process | CPU % | peak RSS MiB |', '|---|---:|---:|');
    for (const u of usage) lines.push(`| ${u.name} | ${u.cpuPercent.toFixed(1)} | ${u.peakRssMiB.toFixed(0)} |`);
    lines.push('');
  }
  if (summary.failed.length > 0) {
    lines.push('Problems:', '');
    for (const f of summary.failed) lines.push(`- publisher ${f.index}${f.recordingId ? ` (${f.recordingId})` : ''}: ${f.problems.join('; ')}`);
    lines.push('');
  }
  return lines.join('\n');
}
