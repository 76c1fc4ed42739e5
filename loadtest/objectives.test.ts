import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_OBJECTIVES, findCapacity, judgeStep, stepSizes, type RecordingOutcome } from './objectives.js';

const clean = (firstKeyframeMs = 300, stopMs = 800): RecordingOutcome => ({ status: 'done', firstKeyframeMs, stopMs, problems: [] });

test('a step of clean, quick recordings without drops holds', () => {
  const v = judgeStep({ recordings: [clean(), clean(400), clean(500, 1500)], mediaDrops: 0 }, DEFAULT_OBJECTIVES);
  assert.equal(v.held, true);
  assert.equal(v.refused, 0);
  assert.ok(v.objectives.every((o) => o.held));
});

test('each objective breaks a step on its own', () => {
  const broken = (facts: Parameters<typeof judgeStep>[0]) =>
    judgeStep(facts, DEFAULT_OBJECTIVES)
      .objectives.filter((o) => !o.held)
      .map((o) => o.name);
  assert.deepEqual(broken({ recordings: [clean(), { ...clean(), problems: ['decode errors: x'] }], mediaDrops: 0 }), ['every file clean']);
  assert.deepEqual(broken({ recordings: [clean(), { ...clean(), status: 'failed', problems: [] }], mediaDrops: 0 }), ['no recording failed']);
  // p95 of 20 values: one slow start in 20 does not break it, two do
  const starts = Array.from({ length: 20 }, () => clean());
  assert.deepEqual(broken({ recordings: [...starts.slice(1), clean(5000)], mediaDrops: 0 }), []);
  assert.deepEqual(broken({ recordings: [...starts.slice(2), clean(5000), clean(5000)], mediaDrops: 0 }), ['start → first keyframe p95']);
  assert.deepEqual(broken({ recordings: [clean(300, 2500)], mediaDrops: 0 }), ['stop → done p95']);
  assert.deepEqual(broken({ recordings: [clean()], mediaDrops: 3 }), ["packets dropped at media's UDP sockets"]);
  // unreadable drops (a remote stack) judge nothing
  assert.deepEqual(broken({ recordings: [clean()], mediaDrops: undefined }), []);
});

test('refusals are counted apart and break nothing, unless nothing at all was recorded', () => {
  const refused: RecordingOutcome = { status: 'refused', firstKeyframeMs: undefined, stopMs: undefined, problems: [] };
  const v = judgeStep({ recordings: [clean(), refused, refused], mediaDrops: 0 }, DEFAULT_OBJECTIVES);
  assert.equal(v.held, true);
  assert.equal(v.refused, 2);
  const all = judgeStep({ recordings: [refused, refused], mediaDrops: 0 }, DEFAULT_OBJECTIVES);
  assert.equal(all.held, false);
  assert.equal(all.refused, 2);
});

test('objectives are overridable', () => {
  const v = judgeStep({ recordings: [clean(300, 2500)], mediaDrops: 5 }, { ...DEFAULT_OBJECTIVES, stopP95Ms: 3000, maxMediaDrops: 10 });
  assert.equal(v.held, true);
});

test('step sizes grow by the step up to the maximum', () => {
  assert.deepEqual(stepSizes(4, 16), [4, 8, 12, 16]);
  assert.deepEqual(stepSizes(4, 10), [4, 8, 10]);
  assert.deepEqual(stepSizes(5, 3), [3]);
});

test('find-capacity stops at the first broken step and names the last one that held', async () => {
  const asked: number[] = [];
  const run = (breakAt: number) =>
    findCapacity([4, 8, 12, 16], async (n) => {
      asked.push(n);
      return { verdict: { held: n < breakAt, objectives: [], refused: 0 } };
    });
  assert.deepEqual(await run(12).then((r) => [r.capacity, r.brokeAt, r.steps.length]), [8, 12, 3]);
  assert.deepEqual(asked, [4, 8, 12]);
  assert.deepEqual(await run(4).then((r) => [r.capacity, r.brokeAt]), [undefined, 4]);
  assert.deepEqual(await run(100).then((r) => [r.capacity, r.brokeAt]), [16, undefined]);
});
