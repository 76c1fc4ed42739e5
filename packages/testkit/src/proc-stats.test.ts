import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStatEntry, readProcTable, treeCpuSeconds } from './proc-stats.js';

test('a stat line gives its parent and its CPU; a command name with spaces and parentheses is no trouble', () => {
  const line = '4242 (gst-launch (1.0) x) S 4200 4242 4242 0 -1 4194304 100 0 0 0 250 50 30 20 20 0 3 0 100 1000 200';
  assert.deepEqual(parseProcStatEntry(line, 100), { ppid: 4200, self: 3, children: 0.5 });
});

test('a tree counts its root, the children the root reaped and every live descendant, once each', () => {
  const table = new Map([
    [1, { ppid: 0, self: 100, children: 100 }],
    [10, { ppid: 1, self: 2, children: 1 }],
    [11, { ppid: 10, self: 4, children: 0 }],
    [12, { ppid: 10, self: 0.5, children: 0 }],
    [20, { ppid: 1, self: 7, children: 0 }],
  ]);
  assert.equal(treeCpuSeconds(10, table), 7.5);
  assert.equal(treeCpuSeconds(11, table), 4);
  assert.equal(treeCpuSeconds(99, table), undefined);
});

test('this process is in the live table and its tree uses CPU', () => {
  const table = readProcTable();
  assert.equal(table.get(process.pid)?.ppid, process.ppid);
  assert.ok((treeCpuSeconds(process.pid, table) ?? 0) > 0);
});
