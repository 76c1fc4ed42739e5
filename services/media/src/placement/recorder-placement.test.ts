import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freeShare, pickRecorder } from './recorder-placement.js';

test('the recorder with the lowest share of its capacity in use is picked', () => {
  const loads = [
    { recorderId: 'rcd_a', active: 3, capacity: 16 },
    { recorderId: 'rcd_b', active: 1, capacity: 16 },
    { recorderId: 'rcd_c', active: 2, capacity: 4 },
  ];
  assert.equal(pickRecorder(loads), 'rcd_b');
  // by share, not count: 4 of 32 is less loaded than 1 of 4
  assert.equal(
    pickRecorder([
      { recorderId: 'rcd_big', active: 4, capacity: 32 },
      { recorderId: 'rcd_small', active: 1, capacity: 4 },
    ]),
    'rcd_big',
  );
});

test('full recorders are skipped; none left, or none known, lets the queue group choose', () => {
  assert.equal(
    pickRecorder([
      { recorderId: 'rcd_a', active: 16, capacity: 16 },
      { recorderId: 'rcd_b', active: 15, capacity: 16 },
    ]),
    'rcd_b',
  );
  assert.equal(
    pickRecorder([
      { recorderId: 'rcd_a', active: 4, capacity: 4 },
      { recorderId: 'rcd_z', active: 0, capacity: 0 },
    ]),
    undefined,
  );
  assert.equal(pickRecorder([]), undefined);
});

test('equals are chosen at random', () => {
  const loads = [
    { recorderId: 'rcd_a', active: 0, capacity: 8 },
    { recorderId: 'rcd_b', active: 0, capacity: 8 },
  ];
  assert.equal(
    pickRecorder(loads, () => 0),
    'rcd_a',
  );
  assert.equal(
    pickRecorder(loads, () => 0.99),
    'rcd_b',
  );
});

test('recorders that report cost units are compared by the free share of their units', () => {
  // by count rcd_a looks emptier (2 of 16 against 4 of 16), but its recordings transcode: 75 % of its units are used
  const loads = [
    { recorderId: 'rcd_a', active: 2, capacity: 16, capacityUnits: 100, loadUnits: 75 },
    { recorderId: 'rcd_b', active: 4, capacity: 16, capacityUnits: 100, loadUnits: 40 },
  ];
  assert.equal(pickRecorder(loads), 'rcd_b');
  // units spent: full, whatever the count says
  assert.equal(pickRecorder([{ recorderId: 'rcd_a', active: 1, capacity: 16, capacityUnits: 10, loadUnits: 10 }]), undefined);
  // the count limit still holds when units are left
  assert.equal(pickRecorder([{ recorderId: 'rcd_a', active: 16, capacity: 16, capacityUnits: 100, loadUnits: 10 }]), undefined);
});

test('a recorder without units (older) is compared by its count share beside one with units', () => {
  const loads = [
    { recorderId: 'rcd_old', active: 8, capacity: 16 },
    { recorderId: 'rcd_new', active: 2, capacity: 16, capacityUnits: 100, loadUnits: 60 },
  ];
  // 50 % free against 40 % free
  assert.equal(pickRecorder(loads), 'rcd_old');
  assert.equal(freeShare({ recorderId: 'rcd_x', active: 0, capacity: 0 }), 0);
  assert.equal(freeShare({ recorderId: 'rcd_x', active: 1, capacity: 4, capacityUnits: 0, loadUnits: 0 }), 0.75);
});
