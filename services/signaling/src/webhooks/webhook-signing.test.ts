import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signatureHeader, verifySignature } from './webhook-signing.js';
import { backoffDelay, isRetryableStatus, retryAfterMs } from './backoff.js';

const SECRET = 'whsec-0123456789abcdef';

test('the signature is an HMAC-SHA256 of "<timestamp>.<body>" that a receiver can verify', () => {
  const body = JSON.stringify({ id: 'rec_1', status: 'done' });
  const header = signatureHeader(SECRET, body, 1_700_000_000);
  const expected = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
  assert.equal(header, `t=1700000000,v1=${expected}`);
  assert.equal(verifySignature(SECRET, body, header, 1_700_000_010), true);
});

test('a changed body, a wrong secret, an old timestamp or a malformed header fail verification', () => {
  const body = '{"id":"rec_1"}';
  const header = signatureHeader(SECRET, body, 1_700_000_000);
  assert.equal(verifySignature(SECRET, '{"id":"rec_2"}', header, 1_700_000_000), false);
  assert.equal(verifySignature('other-secret-0123456', body, header, 1_700_000_000), false);
  assert.equal(verifySignature(SECRET, body, header, 1_700_000_000 + 3600), false, 'replayed an hour later');
  assert.equal(verifySignature(SECRET, body, header.replace('t=1700000000', 't=1700000001'), 1_700_000_000), false);
  for (const bad of [undefined, '', 'v1=abc', 't=x,v1=00', `t=1700000000,v1=${'0'.repeat(63)}`])
    assert.equal(verifySignature(SECRET, body, bad, 1_700_000_000), false, String(bad));
});

test('backoff grows exponentially with jitter and is capped', () => {
  const low = () => 0;
  const high = () => 1;
  assert.equal(backoffDelay(1, 1000, 60_000, low), 500);
  assert.equal(backoffDelay(1, 1000, 60_000, high), 1000);
  assert.equal(backoffDelay(2, 1000, 60_000, high), 2000);
  assert.equal(backoffDelay(4, 1000, 60_000, high), 8000);
  assert.equal(backoffDelay(30, 1000, 60_000, high), 60_000);
  assert.equal(backoffDelay(30, 1000, 60_000, low), 30_000);
  for (let attempt = 1; attempt < 12; attempt++) {
    const d = backoffDelay(attempt, 100, 5000);
    assert.ok(d >= 50 && d <= 5000, `attempt ${attempt}: ${d}`);
  }
});

test('what is retried: no answer, server errors, 408, 425 and 429', () => {
  for (const status of [undefined, 500, 502, 503, 504, 408, 425, 429]) assert.equal(isRetryableStatus(status), true, String(status));
  for (const status of [400, 401, 403, 404, 410, 413, 422]) assert.equal(isRetryableStatus(status), false, String(status));
});

test('Retry-After in seconds or as a date', () => {
  assert.equal(retryAfterMs('120', 0), 120_000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
  assert.equal(retryAfterMs(null, 0), undefined);
  assert.equal(retryAfterMs('soon', 0), undefined);
});
