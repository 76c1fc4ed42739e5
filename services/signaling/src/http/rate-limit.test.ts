import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limit.js';

test('a burst is allowed, then requests wait for tokens to come back', () => {
  let now = 0;
  const limiter = new RateLimiter(60, 3, () => now);
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('a'), 0);
  assert.equal(limiter.take('a'), 1, 'one token a second: retry after 1 s');
  assert.equal(limiter.take('b'), 0, 'clients are limited separately');
  now += 1000;
  assert.equal(limiter.take('a'), 0);
  assert.ok(limiter.take('a') > 0);
});

test('full buckets are forgotten', () => {
  let now = 0;
  const limiter = new RateLimiter(60, 2, () => now);
  limiter.take('a');
  limiter.take('b');
  assert.equal(limiter.size, 2);
  now += 60_000;
  limiter.sweep();
  assert.equal(limiter.size, 0);
});
