import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentOutcomes } from './recent-outcomes.js';

test('recent outcomes are bounded in count and age', () => {
  let now = 0;
  const outcomes = new RecentOutcomes<string>(2, 1000, () => now);
  outcomes.set('a', 'A');
  outcomes.set('b', 'B');
  outcomes.set('c', 'C');
  assert.equal(outcomes.get('a'), undefined);
  assert.equal(outcomes.get('c'), 'C');
  now = 1001;
  assert.equal(outcomes.get('b'), undefined);
  assert.equal(outcomes.size, 0);
});
