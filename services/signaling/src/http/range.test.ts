import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentRange, parseRange, unsatisfiedRange } from './range.js';

test('single ranges: bounded, open-ended and suffix', () => {
  assert.deepEqual(parseRange('bytes=0-99', 1000), { type: 'partial', range: { start: 0, end: 99 } });
  assert.deepEqual(parseRange('bytes=500-', 1000), { type: 'partial', range: { start: 500, end: 999 } });
  assert.deepEqual(parseRange('bytes=-100', 1000), { type: 'partial', range: { start: 900, end: 999 } });
  assert.deepEqual(parseRange('bytes=-5000', 1000), { type: 'partial', range: { start: 0, end: 999 } });
  assert.deepEqual(parseRange('bytes=990-5000', 1000), { type: 'partial', range: { start: 990, end: 999 } }, 'an end past the file is clamped');
  assert.deepEqual(parseRange('bytes=999-999', 1000), { type: 'partial', range: { start: 999, end: 999 } });
  assert.deepEqual(parseRange(' bytes = 0 - 9 ', 1000), { type: 'partial', range: { start: 0, end: 9 } });
});

test('ranges outside the file are unsatisfiable', () => {
  assert.deepEqual(parseRange('bytes=1000-', 1000), { type: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=5000-6000', 1000), { type: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 1000), { type: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { type: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-10', 0), { type: 'unsatisfiable' });
});

test('what the RFC lets a server ignore gets the whole file', () => {
  for (const header of [undefined, '', 'bytes=', 'bytes=-', 'items=0-5', 'bytes=5-1', 'bytes=0-1,5-9', 'bytes=abc', 'bytes=1e3-', `bytes=${'9'.repeat(30)}-`]) {
    assert.deepEqual(parseRange(header, 1000), { type: 'full' }, String(header));
  }
});

test('Content-Range headers', () => {
  assert.equal(contentRange({ start: 0, end: 99 }, 1000), 'bytes 0-99/1000');
  assert.equal(unsatisfiedRange(1000), 'bytes */1000');
});
