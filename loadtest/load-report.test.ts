import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spread, steadyWindow, summarize } from './load-report.js';
import type { PublisherResult } from './publisher-run.js';
import { usageBetween, type UsageSample } from './usage-sampler.js';

function result(index: number, over: Partial<PublisherResult> = {}): PublisherResult {
  return {
    index, recordingId: `rec_${index}`, recorderId: 'rcd_a', firstKeyframeMs: 300 + index * 100, stopMs: 1500, durationMs: 10_000, sizeBytes: 1,
    recordingSince: 1000 * index, stopAskedAt: 10_000 + 1000 * index, problems: [], ...over,
  };
}

test('the steady stretch runs from the last recording live to the first stop', () => {
  assert.deepEqual(steadyWindow([result(0), result(1), result(2)]), { from: 2000, to: 10_000 });
  // a publisher that never got going does not shorten it
  assert.deepEqual(steadyWindow([result(0), result(1, { recordingSince: undefined, stopAskedAt: undefined })]), { from: 0, to: 10_000 });
  assert.equal(steadyWindow([result(0, { recordingSince: 5000, stopAskedAt: 6000 }), result(1, { recordingSince: 7000, stopAskedAt: 9000 })]), undefined);
});

test('the summary counts right and wrong recordings, their recorders and their time spreads', () => {
  const s = summarize([result(0), result(1, { recorderId: 'rcd_b' }), result(2, { problems: ['decode errors: x'] }), result(3, { firstKeyframeMs: undefined, stopMs: undefined, recorderId: undefined, problems: ['ended failed'] })]);
  assert.equal(s.good, 2);
  assert.deepEqual(s.failed.map((f) => f.index), [2, 3]);
  assert.deepEqual(s.recorders, { rcd_a: 2, rcd_b: 1 });
  assert.deepEqual(s.firstKeyframeMs, { p50: 400, p95: 500, max: 500 });
  assert.equal(spread([]), undefined);
});

test('CPU of a process tree is its CPU seconds over the wall time between the samples inside the window', () => {
  const samples: UsageSample[] = [
    { at: 0, cpu: { media: 1 }, rss: { media: 100 * 1024 * 1024 } },
    { at: 1000, cpu: { media: 1.2 }, rss: { media: 120 * 1024 * 1024 } },
    { at: 3000, cpu: { media: 1.6 }, rss: { media: 110 * 1024 * 1024 } },
    { at: 9000, cpu: { media: 9 }, rss: { media: 500 * 1024 * 1024 } },
  ];
  const [media] = usageBetween(samples, 500, 3500);
  assert.ok(media);
  assert.ok(Math.abs(media.cpuPercent - 20) < 1e-9, `${media.cpuPercent}`);
  assert.equal(media.peakRssMiB, 120);
  assert.deepEqual(usageBetween(samples, 500, 1500), [], 'one sample is no measurement');
});
