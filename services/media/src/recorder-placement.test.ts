import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickRecorder } from './recorder-placement.js';

test('the recorder with the lowest share of its capacity in use is picked', () => {
  const loads = [
    { recorderId: 'rcd_a', active: 3, capacity: 16 },
    { recorderId: 'rcd_b', active: 1, capacity: 16 },
    { recorderId: 'rcd_c', active: 2, capacity: 4 },
  ];
  assert.equal(pickRecorder(loads), 'rcd_b');
  // by share, not count: 4 of 32 is less loaded than 1 of 4
  assert.equal(pickRecorder([{ recorderId: 'rcd_big', active: 4, capacity: 32 }, { recorderId: 'rcd_small', active: 1, capacity: 4 }]), 'rcd_big');
});

test('full recorders are skipped; none left, or none known, lets the queue group choose', () => {
  assert.equal(pickRecorder([{ recorderId: 'rcd_a', active: 16, capacity: 16 }, { recorderId: 'rcd_b', active: 15, capacity: 16 }]), 'rcd_b');
  assert.equal(pickRecorder([{ recorderId: 'rcd_a', active: 4, capacity: 4 }, { recorderId: 'rcd_z', active: 0, capacity: 0 }]), undefined);
  assert.equal(pickRecorder([]), undefined);
});

test('equals are chosen at random', () => {
  const loads = [{ recorderId: 'rcd_a', active: 0, capacity: 8 }, { recorderId: 'rcd_b', active: 0, capacity: 8 }];
  assert.equal(pickRecorder(loads, () => 0), 'rcd_a');
  assert.equal(pickRecorder(loads, () => 0.99), 'rcd_b');
});
