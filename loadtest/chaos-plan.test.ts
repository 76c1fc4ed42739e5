import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeChaos, classifyEffect, parseChaos } from './chaos-plan.js';

test('a chaos plan is parsed in time order; nonsense is refused', () => {
  assert.deepEqual(parseChaos(''), []);
  assert.deepEqual(parseChaos('term-media@40, kill-recorder@15,restart-nats@25.5'), [
    { action: 'kill-recorder', atSeconds: 15 }, { action: 'restart-nats', atSeconds: 25.5 }, { action: 'term-media', atSeconds: 40 },
  ]);
  assert.throws(() => parseChaos('kill-recorder@'), /ACTION@SECONDS/);
  assert.throws(() => parseChaos('drop-db@3'), /not one of/);
});

test('a recording across an event is failed, a declared gap, lost (damaged file) or untouched', () => {
  assert.equal(classifyEffect({ status: 'failed', problems: ['ended failed: RECORDER_LOST'], durationShortBySec: undefined }, 1.5).effect, 'failed');
  assert.equal(classifyEffect({ status: 'done', problems: ['lasts 10.0 s, expected 16.0 ± 1.5 s'], durationShortBySec: 6 }, 1.5).effect, 'gap');
  assert.equal(classifyEffect({ status: 'done', problems: ['decode errors: x'], durationShortBySec: 0 }, 1.5).effect, 'lost');
  assert.equal(classifyEffect({ status: 'done', problems: [], durationShortBySec: 0.4 }, 1.5).effect, 'untouched');
});

test("a recording's damage is laid on the last event before its file ended; other events it ran across left it untouched", () => {
  const base = { status: 'done', problems: [] as string[], startAskedAt: 0, stopAskedAt: 60_000, stopReason: 'requested' };
  const events = [{ key: 'kill', at: 15_000 }, { key: 'nats', at: 25_000 }, { key: 'media', at: 40_000 }];
  const out = attributeChaos(events, [
    // cut at the kill: its file ends at 14 s, 45 s short
    { ...base, recordingId: 'cut', fileEndAt: 14_000, durationShortBySec: 45, problems: ['lasts 14 s'], stopReason: 'error' },
    // ran to the end, clean
    { ...base, recordingId: 'whole', fileEndAt: 59_800, durationShortBySec: 0.2 },
    // failed when media went: no file
    { ...base, recordingId: 'failed', status: 'failed', problems: ['ended failed'], fileEndAt: undefined, durationShortBySec: undefined },
  ], 1.5);
  const effects = (key: string) => Object.fromEntries((out.get(key) ?? []).map((a) => [a.recordingId, a.effect]));
  assert.deepEqual(effects('kill'), { cut: 'gap', whole: 'untouched', failed: 'untouched' });
  assert.deepEqual(effects('nats'), { cut: 'ended before', whole: 'untouched', failed: 'untouched' });
  assert.deepEqual(effects('media'), { cut: 'ended before', whole: 'untouched', failed: 'failed' });
  assert.match(out.get('kill')?.find((a) => a.recordingId === 'cut')?.detail ?? '', /stop reason error/);
});
