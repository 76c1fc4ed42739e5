import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickEndpoint } from './webrtc-endpoint.js';

test('a new publisher goes to the endpoint holding the fewest, the first of equals', () => {
  assert.equal(pickEndpoint([0, 0, 0]), 0);
  assert.equal(pickEndpoint([1, 0, 0]), 1);
  assert.equal(pickEndpoint([3, 2, 2, 5]), 1);
  assert.equal(pickEndpoint([4]), 0);
  assert.equal(pickEndpoint([]), -1);
});

test('publishers joining one after another spread evenly, and a freed endpoint is refilled first', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 7; i++) {
    const at = pickEndpoint(counts);
    counts[at] = (counts[at] ?? 0) + 1;
  }
  assert.deepEqual(counts, [3, 2, 2]);
  counts[2] = 0;
  assert.equal(pickEndpoint(counts), 2);
});
