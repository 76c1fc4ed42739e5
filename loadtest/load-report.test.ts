import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLoadConfig } from './load-config.js';
import { buildReport, capacityPhrase, chaosEffects, costHeading, renderMarkdown, spread, verdictOf, type LoadReport, type ReportInput } from './load-report.js';
import type { StepResult } from './load-run.js';
import { newResult, type RecordingResult } from './recording-run.js';
import { renderHtml } from './report-html.js';
import { usageBetween, usageTimeline, type UsageSample } from './usage-sampler.js';

function rec(publisher: number, over: Partial<RecordingResult> = {}): RecordingResult {
  return {
    ...newResult(publisher, 0),
    recordingId: `rec_${publisher}`,
    recorderId: publisher % 2 ? 'rcd_b' : 'rcd_a',
    status: 'done',
    startAskedAt: 1000 + publisher * 100,
    stopAskedAt: 11_000,
    firstKeyframeMs: 300 + publisher * 100,
    stopMs: 1500,
    durationMs: 9500,
    expectedSec: 9.6,
    rtp: { sent: 1000, lost: 10, nacks: 10, retransmitted: 10 },
    ...over,
  };
}

const samples: UsageSample[] = [
  { at: 0, cpu: { media: 1, generator: 0 }, rss: { media: 100 * 1024 * 1024, generator: 0 } },
  { at: 2000, cpu: { media: 1.2, generator: 0.1 }, rss: { media: 120 * 1024 * 1024, generator: 0 } },
  { at: 4000, cpu: { media: 1.6, generator: 0.2 }, rss: { media: 110 * 1024 * 1024, generator: 0 } },
  { at: 10_000, cpu: { media: 9, generator: 0.5 }, rss: { media: 500 * 1024 * 1024, generator: 0 } },
];

test('CPU of a process tree is its CPU seconds over the wall time between the samples inside the window', () => {
  const [media] = usageBetween(samples, 1000, 4500);
  assert.ok(media);
  assert.ok(Math.abs(media.cpuPercent - 20) < 1e-9, `${media.cpuPercent}`);
  assert.equal(media.peakRssMiB, 120);
  assert.deepEqual(usageBetween(samples, 1000, 2500), [], 'one sample is no measurement');
  const timeline = usageTimeline(samples, 0);
  assert.deepEqual(
    timeline.map((t) => t.cpu.media),
    [10, 20, 123.3],
  );
  // a restarted service's counter starts again: no negative CPU
  assert.deepEqual(usageTimeline([samples[3] as UsageSample, { at: 11_000, cpu: { media: 0.1 }, rss: { media: 0 } }], 0)[0]?.cpu, {});
});

test('the report counts clean, failed, damaged and refused recordings, per recorder, with latency spreads and per-recording cost', () => {
  const recordings = [
    rec(0),
    rec(1),
    rec(2, { problems: ['decode errors: x'] }),
    rec(3, { status: 'failed', error: 'ended failed: X', recorderId: undefined }),
    { ...newResult(4, 0), status: 'refused' as const, error: 'answered 503' },
  ];
  const step: StepResult = {
    index: 0,
    publishers: 5,
    startedAt: 0,
    endedAt: 12_000,
    steady: { from: 1000, to: 9000 },
    mediaDrops: 0,
    verdict: { held: false, objectives: [], refused: 1 },
  };
  const input: ReportInput = {
    config: loadLoadConfig({}),
    startedAt: 0,
    endedAt: 12_000,
    machine: 'test',
    target: 'here',
    publishers: 'replay',
    recordings,
    steps: [step],
    capacity: undefined,
    brokeAt: 4,
    publishRefused: 0,
    publishFailed: 0,
    usage: samples,
    activity: [
      { at: 0, recording: 0, publishersUp: 0, mediaDrops: 5 },
      { at: 9000, recording: 4, publishersUp: 5, mediaDrops: 7 },
    ],
    relay: undefined,
    chaos: [],
    mediaDropsByPort: { 40000: 7 },
  };
  const r = buildReport(input);
  assert.deepEqual(r.totals, { recordings: 5, clean: 2, failed: 1, refused: 1, withProblems: 1, publishRefused: 0, publishFailed: 0 });
  assert.deepEqual(r.recorders, { rcd_a: 2, rcd_b: 1 });
  assert.deepEqual(r.firstKeyframeMs, spread([300, 400, 500, 600]));
  assert.equal(r.mediaDrops, 2);
  const [first] = r.steps;
  assert.ok(first);
  assert.equal(first.recording, 4, 'the refused one did not record');
  assert.ok(renderMarkdown(r).includes(`## ${costHeading(first, true)}`));
  const media = r.steps[0]?.cost.find((c) => c.name === 'media');
  // 4 recordings got going (the refused one did not): media's CPU shared by them
  assert.ok(media && media.perRecording !== undefined && Math.abs(media.perRecording - media.cpuPercent / 4) < 1e-9);
  const generator = r.steps[0]?.cost.find((c) => c.name === 'generator');
  assert.ok(
    generator && generator.perRecording !== undefined && Math.abs(generator.perRecording - generator.cpuPercent / 5) < 1e-9,
    'the generator is per publisher',
  );
  assert.deepEqual(
    r.recordings.map((x) => x.verdict),
    ['clean', 'clean', 'decode errors: x', 'failed: ended failed: X', 'refused (503 AT_CAPACITY)'],
  );
  assert.equal(verdictOf(recordings[0] as RecordingResult), 'clean');
  const html = renderHtml(r, 'title </script>');
  assert.ok(!html.includes('http://') && !html.includes('https://'), 'the page loads nothing from the network');
  assert.equal(html.match(/<\/script>/g)?.length, 2, 'no value closes the data element early');
});

test('chaos: the recordings running at the event are classified; the others are not listed', () => {
  const recordings = [
    rec(0),
    rec(1, { status: 'failed', error: 'RECORDER_LOST' }),
    rec(2, { durationMs: 4000 }),
    rec(3, { startAskedAt: 20_000, stopAskedAt: 30_000 }),
  ];
  const [kill] = chaosEffects([{ event: { action: 'kill-recorder', atSeconds: 5 }, at: 5000, done: 'killed' }], recordings, 1.5);
  assert.deepEqual(
    kill?.affected.map((a) => [a.recordingId, a.effect]),
    [
      ['rec_0', 'untouched'],
      ['rec_1', 'failed'],
      ['rec_2', 'gap'],
    ],
  );
});

test('chaos: a handed-over recording counts its declared gap as time it ran, and is reported handed over', () => {
  // ran 9.6 s from its first keyframe to the stop; the file holds 8.4 s and declares a 1.2 s gap
  const moved = rec(0, { durationMs: 8400, segments: 2, gaps: [{ atMs: 3000, ms: 1200 }], handoverAt: 5800 });
  const [kill] = chaosEffects([{ event: { action: 'kill-recorder', atSeconds: 4 }, at: 4000, done: 'killed' }], [moved, rec(1, { durationMs: 8400 })], 1);
  assert.deepEqual(
    kill?.affected.map((a) => [a.recordingId, a.effect, a.detail]),
    [
      ['rec_0', 'handed over', '2 segments, gap 1.2 s at 3.0 s'],
      ['rec_1', 'gap', '1.2 s shorter than it ran'],
    ],
  );
});

test('the capacity headline says how many recorded when the step that held had refusals', () => {
  const step = (publishers: number, held: boolean, refused: number) => ({ publishers, held, refused }) as LoadReport['steps'][number];
  assert.equal(capacityPhrase({ capacity: undefined, steps: [] }), 'no step held');
  assert.equal(capacityPhrase({ capacity: 20, steps: [step(16, true, 0), step(20, true, 0), step(24, false, 0)] }), '20 concurrent recordings held');
  assert.equal(
    capacityPhrase({ capacity: 32, steps: [step(28, true, 3), step(32, true, 7), step(36, false, 11)] }),
    'held at 32 publishers (25 recording at once, 7 refused with 503)',
  );
});

test('the cost heading names the recordings that ran, when fewer than the step asked for', () => {
  assert.equal(costHeading({ index: 12, publishers: 48, recording: 48, refused: 0 }, true), 'Cost while all 48 of step 12 recorded');
  assert.equal(
    costHeading({ index: 12, publishers: 48, recording: 39, refused: 8 }, true),
    'Cost while 39 of the 48 publishers of step 12 recorded (8 refused, 1 did not get going)',
  );
  assert.equal(costHeading({ index: 1, publishers: 3, recording: 2, refused: 1 }, true), 'Cost while 2 of the 3 publishers of step 1 recorded (1 refused)');
  assert.equal(
    costHeading({ index: 1, publishers: 100, recording: 100, refused: 0 }, false),
    'Cost while all 100 publishers of step 1 published (no recording)',
  );
});
