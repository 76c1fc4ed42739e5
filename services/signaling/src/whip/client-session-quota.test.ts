import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TooManySessionsError } from '../errors.js';
import { ClientSessionQuota } from './client-session-quota.js';

test('a client holds at most the limit, counting creates in flight; ended sessions free their place', async () => {
  const quota = new ClientSessionQuota(2);
  let n = 0;
  let finish: (() => void) | undefined;
  const slow = quota.hold('token:publish', () => new Promise<{ sessionId: string }>((resolve) => (finish = () => resolve({ sessionId: `ses_${++n}` }))));
  await quota.hold('token:publish', async () => ({ sessionId: `ses_${++n}` }));
  await assert.rejects(
    quota.hold('token:publish', async () => ({ sessionId: 'never' })),
    TooManySessionsError,
    'the create in flight counts',
  );
  await quota.hold('addr:10.0.0.1', async () => ({ sessionId: 'ses_other' }));
  finish?.();
  const second = await slow;
  assert.equal(quota.count('token:publish'), 2);
  quota.release(second.sessionId);
  quota.release(second.sessionId);
  assert.equal(quota.count('token:publish'), 1);
  await quota.hold('token:publish', async () => ({ sessionId: 'ses_again' }));
});

test('a failed create gives its place back', async () => {
  const quota = new ClientSessionQuota(1);
  await assert.rejects(quota.hold('a', async () => Promise.reject(new Error('media down'))));
  assert.equal(quota.count('a'), 0);
  await quota.hold('a', async () => ({ sessionId: 'ses_1' }));
});

test('at the limit, sessions media no longer holds (it died without a closed event) are forgotten', async () => {
  const alive = new Set(['ses_1', 'ses_2']);
  const quota = new ClientSessionQuota(2, async (id) => alive.has(id));
  await quota.hold('a', async () => ({ sessionId: 'ses_1' }));
  await quota.hold('a', async () => ({ sessionId: 'ses_2' }));
  await assert.rejects(
    quota.hold('a', async () => ({ sessionId: 'ses_3' })),
    TooManySessionsError,
  );
  alive.delete('ses_1');
  await quota.hold('a', async () => ({ sessionId: 'ses_3' }));
  assert.equal(quota.count('a'), 2);
});
