import type { LoadReport } from './load-report.js';

/**
 * The report as one HTML file that needs no network: the data is embedded as JSON and a small script
 * draws the charts as inline SVG when the page opens.
 */
export function renderHtml(report: LoadReport, markdownTitle: string): string {
  // `<` escaped so no value can close the script element
  const data = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(markdownTitle)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
td.n{text-align:right}.bad{color:#b00020}.ok{color:#0a7d32}
.chart{margin:8px 0}.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
svg text{font-size:11px;fill:#444}
</style></head><body>
<h1 id="title"></h1><p id="meta"></p>
<div id="summary"></div>
<h2>Steps and objectives</h2><div id="steps"></div>
<h2>CPU of every service and its children (% of one core)</h2><div id="cpu"></div>
<h2>Memory (RSS MiB)</h2><div id="rss"></div>
<h2>Recordings running and publishers up</h2><div id="activity"></div>
<h2>Packets dropped at media's UDP sockets (so far)</h2><div id="drops"></div>
<h2>Start request → first keyframe written, ms (each recording, sorted)</h2><div id="fk"></div>
<h2>Stop request → done, ms (each recording, sorted)</h2><div id="stop"></div>
<h2>Cost per recording, % of one core (last step with a steady stretch; the generator per publisher, never counted as the stack's)</h2><div id="cost"></div>
<h2>Recordings per recorder</h2><div id="recorders"></div>
<h2>RTP loss per recording (video packets media reported lost / sent)</h2><div id="loss"></div>
<h2>Chaos</h2><div id="chaos"></div>
<h2>Every file's verdict</h2><div id="files"></div>
<script type="application/json" id="data">${data}</script>
<script>
${CLIENT_SCRIPT}
</script>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/** Plain browser JavaScript (not compiled): draws from the embedded data. */
const CLIENT_SCRIPT = String.raw`
const R = JSON.parse(document.getElementById('data').textContent);
const COLORS = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'})[c]);
const el = (id, html) => { document.getElementById(id).innerHTML = html; };
const fmt = (v, d = 1) => v === undefined || v === null ? 'n/a' : Number(v).toFixed(d);
function table(head, rows) {
  return '<table><tr>' + head.map((h) => '<th>' + esc(h) + '</th>').join('') + '</tr>' +
    rows.map((r) => '<tr>' + r.map((c) => typeof c === 'number' ? '<td class="n">' + c + '</td>' : '<td>' + c + '</td>').join('') + '</tr>').join('') + '</table>';
}
function lineChart(series, opts = {}) {
  const W = 1000, H = opts.height || 220, L = 50, B = 24, T = 8, Rm = 10;
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return '<p>no data</p>';
  const xmax = Math.max(...pts.map((p) => p[0]), 1), xmin = Math.min(...pts.map((p) => p[0]), 0);
  const ymax = Math.max(...pts.map((p) => p[1]), opts.ymin || 1) * 1.05;
  const x = (v) => L + ((v - xmin) / (xmax - xmin || 1)) * (W - L - Rm), y = (v) => H - B - (v / ymax) * (H - B - T);
  let svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" width="100%">';
  for (let i = 0; i <= 4; i++) { const v = (ymax / 4) * i; svg += '<line x1="' + L + '" x2="' + (W - Rm) + '" y1="' + y(v) + '" y2="' + y(v) + '" stroke="#eee"/><text x="4" y="' + (y(v) + 4) + '">' + fmt(v, v < 10 ? 1 : 0) + '</text>'; }
  for (let i = 0; i <= 5; i++) { const v = xmin + ((xmax - xmin) / 5) * i; svg += '<text x="' + (x(v) - 10) + '" y="' + (H - 6) + '">' + fmt(v, 0) + (opts.xunit || '') + '</text>'; }
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const c = COLORS[i % COLORS.length];
    svg += '<polyline fill="none" stroke="' + c + '" stroke-width="1.5" points="' + s.points.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ') + '"/>';
  });
  svg += '</svg>';
  const legend = '<div class="legend">' + series.map((s, i) => '<span><i style="background:' + COLORS[i % COLORS.length] + '"></i>' + esc(s.name) + '</span>').join('') + '</div>';
  return '<div class="chart">' + svg + legend + '</div>';
}
function barChart(bars, unit) {
  if (bars.length === 0) return '<p>no data</p>';
  const max = Math.max(...bars.map((b) => b.value), 1e-9), W = 1000, row = 18, L = 220;
  let svg = '<svg viewBox="0 0 ' + W + ' ' + (bars.length * row + 4) + '" width="100%">';
  bars.forEach((b, i) => {
    const w = (b.value / max) * (W - L - 80);
    svg += '<text x="0" y="' + (i * row + 13) + '">' + esc(b.name).slice(0, 34) + '</text><rect x="' + L + '" y="' + (i * row + 3) + '" width="' + Math.max(w, 1) + '" height="12" fill="' + (b.color || COLORS[0]) + '"/><text x="' + (L + w + 6) + '" y="' + (i * row + 13) + '">' + fmt(b.value, 2) + (unit || '') + '</text>';
  });
  return svg + '</svg>';
}
const capacityPhrase = (R) => {
  if (R.capacity === undefined) return 'no step held';
  const held = R.steps.find((s) => s.held && s.publishers === R.capacity);
  const refused = held ? held.refused : 0;
  return refused > 0 ? 'held at ' + R.capacity + ' publishers (' + (R.capacity - refused) + ' recording at once, ' + refused + ' refused with 503)' : R.capacity + ' concurrent recordings held';
};
const sorted = (vals) => vals.filter((v) => v !== undefined && v !== null).sort((a, b) => a - b).map((v, i) => [i + 1, v]);

document.getElementById('title').textContent = R.mode === 'find-capacity'
  ? 'Load test: find-capacity → ' + capacityPhrase(R) + (R.brokeAt !== undefined ? ', broke at ' + R.brokeAt : '')
  : R.settings.LOAD_RECORD === false ? 'Load test: ' + (R.steps[0] ? R.steps[0].publishers : 0) + ' publishers publishing only (no recording)' : 'Load test: ' + R.totals.recordings + ' recordings';
el('meta', esc(R.machine) + '. Target: ' + esc(R.target) + '. Started ' + esc(R.startedAt) + ', ran ' + R.seconds + ' s.<br>Publishers: ' + esc(R.publishers) +
  '<br>Settings: ' + Object.entries(R.settings).map(([k, v]) => '<code>' + esc(k) + '=' + esc(v) + '</code>').join(' '));
el('summary', table(['', ''], [
  ['recordings clean', R.totals.clean + ' of ' + R.totals.recordings],
  ['failed / file problems / refused (503)', R.totals.failed + ' / ' + R.totals.withProblems + ' / ' + R.totals.refused],
  ['start → first keyframe ms p50 / p95 / max', R.firstKeyframeMs ? fmt(R.firstKeyframeMs.p50, 0) + ' / ' + fmt(R.firstKeyframeMs.p95, 0) + ' / ' + fmt(R.firstKeyframeMs.max, 0) : 'n/a'],
  ['stop → done ms p50 / p95 / max', R.stopMs ? fmt(R.stopMs.p50, 0) + ' / ' + fmt(R.stopMs.p95, 0) + ' / ' + fmt(R.stopMs.max, 0) : 'n/a'],
  ["packets dropped at media's UDP sockets", R.mediaDrops === undefined ? 'not readable' : R.mediaDrops],
  ['relay (publisher → media): received / lost / queue-dropped / reordered', R.relay ? [R.relay.upstream.received, R.relay.upstream.lost, R.relay.upstream.queueDropped, R.relay.upstream.reordered].join(' / ') : 'no relay'],
]));
el('steps', table(['step', 'publishers', 'held', 'refused', 'media drops', 'all recording s', 'objectives'], R.steps.map((s) => [
  s.index, s.publishers, s.held ? '<span class="ok">yes</span>' : '<span class="bad">no</span>', s.refused, s.mediaDrops === undefined ? 'n/a' : s.mediaDrops, s.steadySeconds,
  s.objectives.map((o) => '<span class="' + (o.held ? 'ok' : 'bad') + '">' + esc(o.name) + ': ' + esc(o.value) + ' (' + esc(o.limit) + ')</span>').join('<br>'),
])));
const names = [...new Set(R.usage.flatMap((u) => Object.keys(u.cpu)))];
el('cpu', lineChart(names.map((n) => ({ name: n, points: R.usage.filter((u) => u.cpu[n] !== undefined).map((u) => [u.t, u.cpu[n]]) })), { xunit: 's' }));
el('rss', lineChart(names.map((n) => ({ name: n, points: R.usage.filter((u) => u.rssMiB[n] !== undefined).map((u) => [u.t, u.rssMiB[n]]) })), { xunit: 's' }));
el('activity', lineChart([
  { name: 'recordings running', points: R.activity.map((a) => [a.t, a.recording]) },
  { name: 'publishers up', points: R.activity.map((a) => [a.t, a.publishersUp]) },
], { xunit: 's' }));
el('drops', lineChart([{ name: "media's UDP drops", points: R.activity.filter((a) => a.mediaDrops !== undefined && a.mediaDrops !== null).map((a) => [a.t, a.mediaDrops - (R.activity[0].mediaDrops || 0)]) }], { xunit: 's' }));
el('fk', lineChart([{ name: 'start → first keyframe (ms)', points: sorted(R.recordings.map((r) => r.firstKeyframeMs)) }], { height: 180 }));
el('stop', lineChart([{ name: 'stop → done (ms)', points: sorted(R.recordings.map((r) => r.stopMs)) }], { height: 180 }));
const costStep = [...R.steps].reverse().find((s) => s.cost.length > 0);
el('cost', costStep ? '<p>step ' + costStep.index + ', ' + (costStep.recording !== undefined && costStep.recording < costStep.publishers ? costStep.recording + ' of ' : '') + costStep.publishers + ' publishers ' + (R.settings.LOAD_RECORD === false ? 'publishing' : 'recording') + '</p>' + barChart(costStep.cost.filter((c) => c.perRecording !== undefined).map((c, i) => ({ name: c.name, value: c.perRecording, color: c.name === 'generator' ? '#999' : COLORS[i % COLORS.length] })), ' %') : '<p>no steady stretch</p>');
el('recorders', barChart(Object.entries(R.recorders).map(([k, v]) => ({ name: k, value: v })), ''));
el('loss', barChart(R.recordings.filter((r) => r.rtpSent).map((r) => ({ name: (r.id || 'publisher ' + r.publisher), value: (100 * (r.rtpLost || 0)) / r.rtpSent })), ' %'));
el('chaos', R.chaos.length === 0 ? '<p>none asked</p>' : R.chaos.map((c) => '<p><b>' + esc(c.action) + '@' + c.atSeconds + '</b>: ' + esc(c.done) + '</p>' +
  table(['recording', 'effect', 'detail'], c.affected.map((a) => [esc(a.recordingId), '<span class="' + (a.effect === 'untouched' || a.effect === 'handed over' ? 'ok' : 'bad') + '">' + esc(a.effect) + '</span>', esc(a.detail)]))).join(''));
el('files', table(['step', 'publisher', 'recording', 'recorder', 'first kf ms', 'stop ms', 'duration s', 'expected s', 'RTP sent / lost / NACKs / resent', 'verdict'], R.recordings.map((r) => [
  r.step, r.publisher, esc(r.id || '-'), esc(r.recorder || '-'), fmt(r.firstKeyframeMs, 0), fmt(r.stopMs, 0), fmt(r.durationSec, 2), fmt(r.expectedSec, 2),
  r.rtpSent === undefined ? 'n/a' : [r.rtpSent, r.rtpLost, r.nacks, r.retransmitted].join(' / '), '<span class="' + (r.verdict === 'clean' ? 'ok' : 'bad') + '">' + esc(r.verdict) + '</span>',
])));
`;
