import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyEffect, parseChaos } from './chaos-plan.js';

test('a chaos plan is parsed in time order; nonsense is refused', () => {
  assert.deepEqual(parseChaos(''), []);
  assert.deepEqual(parseChaos('term-media@40, kill-recorder@15,restart-nats@25.5'), [
    { action: 'kill-recorder', atSeconds: 15 }, { action: 'restart-nats', atSeconds: 25.5 }, { action: 'term-media', atSeconds: 40 },
  ]);
  assert.throws(() => parseChaos('kill-recorder@'), /ACTION@SECONDS/);
  assert.throws(() => parseChaos('drop-db@3'), /not one of/);
});

test('a recording across an event is failed, a declared gap, lost (damaged file) or untouched', () => {
  assert.equal(classifyEffect({ status: 'failed', problems: ['ended failed: RECORDER_LOST'], durationShortBySec: undefined }, 1.5).effect, 'failed');
  assert.equal(classifyEffect({ status: 'done', problems: ['lasts 10.0 s, expected 16.0 ± 1.5 s'], durationShortBySec: 6 }, 1.5).effect, 'gap');
  assert.equal(classifyEffect({ status: 'done', problems: ['decode errors: x'], durationShortBySec: 0 }, 1.5).effect, 'lost');
  assert.equal(classifyEffect({ status: 'done', problems: [], durationShortBySec: 0.4 }, 1.5).effect, 'untouched');
});
