import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryJetStreamWrite } from './jetstream-retry.js';

test('a write that fails during an outage is tried again until it succeeds', async () => {
  const retries: number[] = [];
  const result = await retryJetStreamWrite(
    async (attempt) => {
      if (attempt < 3) throw new Error('503');
      return attempt;
    },
    { deadlineMs: 5000, pauseMs: 10, onRetry: (_err, attempt) => retries.push(attempt) },
  );
  assert.equal(result, 3);
  assert.deepEqual(retries, [1, 2]);
});

test('an error that is an answer is rethrown at once', async () => {
  let attempts = 0;
  await assert.rejects(
    retryJetStreamWrite(
      async () => {
        attempts++;
        throw new Error('wrong last sequence');
      },
      { deadlineMs: 5000, pauseMs: 10, isFinal: (err) => (err as Error).message === 'wrong last sequence' },
    ),
    /wrong last sequence/,
  );
  assert.equal(attempts, 1);
});

test('past the deadline the last error is rethrown', async () => {
  let attempts = 0;
  await assert.rejects(
    retryJetStreamWrite(
      async () => {
        attempts++;
        throw new Error(`outage ${attempts}`);
      },
      { deadlineMs: 1000, pauseMs: 100 },
    ),
    (err: Error) => err.message === `outage ${attempts}`,
  );
  // at most one attempt per pause within the deadline
  assert.ok(attempts >= 2 && attempts <= 10, `${attempts} attempts`);
});
