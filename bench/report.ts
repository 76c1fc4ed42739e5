import type { CpuResult } from './cpu-bench.js';
import type { LatencyResult } from './latency-bench.js';
import { percentile } from '@recstack/testkit';

/** One row of the cost table: the median of each figure over the repeated runs of one subject. */
export interface CpuRow {
  id: string;
  label: string;
  runs: number;
  steadyCorePercent: number;
  cpuSecondsPerMinute: number;
  peakRssMb: number;
  postCpuSecondsPerMinute: number | undefined;
  postWallSeconds: number | undefined;
  fileMbPerMinute: number;
  /** the file was measured as the child wrote it (crash-safe MP4 with its reserved index), not finalized */
  fileAsWritten: boolean;
  recordedSeconds: number;
  notes: string[];
}

export function cpuRow(results: readonly CpuResult[]): CpuRow {
  const first = results[0];
  if (!first) throw new Error('no results for a row');
  const ok = results.filter((r) => !r.problem && r.recordedSeconds > 0);
  const perMinute = (value: (r: CpuResult) => number) => median(ok.map((r) => value(r) / (r.recordedSeconds / 60)));
  const withPost = ok.filter((r) => r.post);
  const notes = [
    ...new Set(
      results.flatMap((r) => [
        ...(r.problem ? [r.problem] : []),
        ...(r.post && !r.post.decodeClean
          ? [
              `decode check: ${r.post.decodeScope !== 'full' ? `${r.post.decodeScope} decode: ${r.post.decodeErrors[0] ?? 'not verified'}` : (r.post.decodeErrors[0] ?? 'not clean')}`,
            ]
          : []),
        ...(r.ending.startsWith('killed') ? [`child ${r.ending}`] : []),
      ]),
    ),
  ];
  return {
    id: first.id,
    label: first.label,
    runs: ok.length,
    steadyCorePercent: median(ok.map((r) => r.steadyCorePercent)),
    cpuSecondsPerMinute: perMinute((r) => r.childCpuSeconds),
    peakRssMb: median(ok.map((r) => r.peakRssBytes / 1e6)),
    postCpuSecondsPerMinute: withPost.length > 0 ? median(withPost.map((r) => (r.post?.cpuSeconds ?? 0) / (r.recordedSeconds / 60))) : undefined,
    postWallSeconds: withPost.length > 0 ? median(withPost.map((r) => r.post?.wallSeconds ?? 0)) : undefined,
    fileMbPerMinute: perMinute((r) => r.fileBytes / 1e6),
    fileAsWritten: first.id.includes('/'),
    recordedSeconds: median(ok.map((r) => r.recordedSeconds)),
    notes,
  };
}

export interface BenchContext {
  date: string;
  host: string;
  cores: number;
  loadBefore: string;
  loadAfter: string;
  gstreamer: string;
  ffmpeg: string;
  seconds: number;
  repeat: number;
  runs: number;
  recordSeconds: number;
  elapsedSeconds: number;
  /** the command lines of our rows as measured (the recorder's pipeline changes; the table says which one it measured) */
  pipelines: Array<{ id: string; command: string }>;
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));

export function renderMarkdown(context: BenchContext, rows: readonly CpuRow[], latency: readonly LatencyResult[]): string {
  const out: string[] = [];
  out.push(`## Recorder benchmark (${context.date})`, '');
  out.push(
    `Machine: ${context.cores} cores (shared), load average ${context.loadBefore} before / ${context.loadAfter} after; ${context.gstreamer}, ${context.ffmpeg}. ` +
      `Input: the same RTP each time, H264 1280x720 30 fps ~1.5 Mbit/s (keyframe every 3 s) + Opus 48 kHz 64 kbit/s, made once with GStreamer's test sources and replayed in real time on loopback with RTCP sender reports. ` +
      `${context.seconds} s per recording, one recording at a time${context.repeat > 1 ? `, median of ${context.repeat} runs` : ''}. Whole run: ${Math.round(context.elapsedSeconds)} s.`,
    '',
  );
  out.push('### Cost per recording', '');
  out.push(
    '| recorder | CPU while recording (% of a core) | CPU s per recorded minute (child, start to exit) | peak RSS (MB) | + after stop: CPU s per recorded minute (rewrite, probe, decode check) | file MB per minute |',
  );
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const post = r.postCpuSecondsPerMinute === undefined ? '–' : `${fmt(r.postCpuSecondsPerMinute, 2)} (${fmt(r.postWallSeconds)} s wall)`;
    out.push(
      `| ${r.label} \`${r.id}\` | ${fmt(r.steadyCorePercent, 2)} | ${fmt(r.cpuSecondsPerMinute, 2)} | ${fmt(r.peakRssMb)} | ${post} | ${fmt(r.fileMbPerMinute)}${r.fileAsWritten ? '*' : ''} |`,
    );
  }
  if (rows.some((r) => r.fileAsWritten))
    out.push('', '\\* as the child wrote it, not finalized: a crash-safe MP4 still holds the index space reserved for the longest recording.');
  out.push('');
  out.push(...targets(rows));
  const notes = rows.filter((r) => r.notes.length > 0);
  if (notes.length > 0) {
    out.push('', 'Notes:');
    for (const r of notes) out.push(`- \`${r.id}\`: ${r.notes.join('; ')}`);
  }
  if (latency.length > 0) {
    out.push('', '### Start and stop through the recorder service (real nats-server, real recorder process)', '');
    out.push(
      `${context.runs} recordings per row, ${context.recordSeconds} s each; RTP starts when the \`listening\` reply arrives and begins with a keyframe (a publisher that answers the keyframe request at once).`,
      '',
    );
    out.push(
      '| recorder | start → listening p50 / p95 (ms) | start → first keyframe written p50 / p95 (ms) | stop → finalized report p50 / p95 (ms) | ok runs |',
    );
    out.push('|---|---:|---:|---:|---:|');
    for (const l of latency) {
      const col = (pick: (r: LatencyResult['runs'][number]) => number) => {
        const v = l.runs.map(pick);
        return `${fmt(percentile(v, 50), 0)} / ${fmt(percentile(v, 95), 0)}`;
      };
      out.push(
        `| ${l.label} \`${l.id}\` | ${col((r) => r.listenMs)} | ${col((r) => r.firstKeyframeMs)} | ${col((r) => r.stopMs)} | ${l.runs.length}/${l.runs.length + l.failures.length} |`,
      );
    }
    const failures = latency.filter((l) => l.failures.length > 0);
    for (const l of failures) out.push('', `\`${l.id}\` failures: ${[...new Set(l.failures)].join('; ')}`);
  }
  if (context.pipelines.length > 0) {
    out.push('', 'Our rows ran these command lines (from `childLaunch`; ports and file names vary per run):', '');
    for (const p of context.pipelines) out.push(`- \`${p.id}\`: \`${p.command}\``);
  }
  out.push('');
  return out.join('\n');
}

/** The issue's targets, stated next to the figures (information, not a verdict: timings are noisy). */
function targets(rows: readonly CpuRow[]): string[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const seedFfmpeg = byId.get('seed-ffmpeg');
  const lines: string[] = [];
  const aac = byId.get('ours-gst-aac');
  if (aac && seedFfmpeg) {
    lines.push(
      `Target: AAC mode at or below the seed's FFmpeg command: ours ${fmt(aac.steadyCorePercent, 2)} % vs ${fmt(seedFfmpeg.steadyCorePercent, 2)} % of a core while recording.`,
    );
  }
  const opus = byId.get('ours-gst-opus');
  if (opus) lines.push(`Target: pass-through under 2 % of a core: ours ${fmt(opus.steadyCorePercent, 2)} %.`);
  return lines;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}
