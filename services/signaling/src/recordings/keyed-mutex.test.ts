import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as tick } from 'node:timers/promises';
import { KeyedMutex } from './keyed-mutex.js';

test('tasks of one key run one at a time, in order; other keys are not held up', async () => {
  const mutex = new KeyedMutex();
  const log: string[] = [];
  const task = (name: string, ms: number) => async () => {
    log.push(`${name}:start`);
    await tick(ms);
    log.push(`${name}:end`);
    return name;
  };
  const results = await Promise.all([mutex.run('a', task('a1', 20)), mutex.run('a', task('a2', 1)), mutex.run('b', task('b1', 1))]);
  assert.deepEqual(results, ['a1', 'a2', 'b1']);
  assert.ok(log.indexOf('a1:end') < log.indexOf('a2:start'), 'a2 waits for a1');
  assert.ok(log.indexOf('b1:end') < log.indexOf('a1:end'), 'b1 runs beside a1');
  assert.equal(mutex.size, 0, 'no keys are kept once idle');
});

test('a failing task releases the key', async () => {
  const mutex = new KeyedMutex();
  await assert.rejects(mutex.run('a', async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await mutex.run('a', async () => 'next'), 'next');
  assert.equal(mutex.size, 0);
});
