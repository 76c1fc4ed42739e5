import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeChaos, classifyEffect, parseChaos } from './chaos-plan.js';

test('a chaos plan is parsed in time order; nonsense is refused', () => {
  assert.deepEqual(parseChaos(''), []);
  assert.deepEqual(parseChaos('term-media@40, kill-recorder@15,restart-nats@25.5'), [
    { action: 'kill-recorder', atSeconds: 15 },
    { action: 'restart-nats', atSeconds: 25.5 },
    { action: 'term-media', atSeconds: 40 },
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
  const events = [
    { key: 'kill', at: 15_000 },
    { key: 'nats', at: 25_000 },
    { key: 'media', at: 40_000 },
  ];
  const out = attributeChaos(
    events,
    [
      // cut at the kill: its file ends at 14 s, 45 s short
      { ...base, recordingId: 'cut', fileEndAt: 14_000, durationShortBySec: 45, problems: ['lasts 14 s'], stopReason: 'error' },
      // ran to the end, clean
      { ...base, recordingId: 'whole', fileEndAt: 59_800, durationShortBySec: 0.2 },
      // failed when media went: no file
      { ...base, recordingId: 'failed', status: 'failed', problems: ['ended failed'], fileEndAt: undefined, durationShortBySec: undefined },
    ],
    1.5,
  );
  const effects = (key: string) => Object.fromEntries((out.get(key) ?? []).map((a) => [a.recordingId, a.effect]));
  assert.deepEqual(effects('kill'), { cut: 'gap', whole: 'untouched', failed: 'untouched' });
  assert.deepEqual(effects('nats'), { cut: 'ended before', whole: 'untouched', failed: 'untouched' });
  assert.deepEqual(effects('media'), { cut: 'ended before', whole: 'untouched', failed: 'failed' });
  assert.match(out.get('kill')?.find((a) => a.recordingId === 'cut')?.detail ?? '', /stop reason error/);
});

test('a recording that moved to another recorder is reported handed over, with its declared gap, not as a shorter file', () => {
  const handover = { segments: 2, gaps: [{ atMs: 13_400, ms: 1200 }], at: 16_300 };
  assert.deepEqual(classifyEffect({ status: 'done', problems: [], durationShortBySec: 0.3, handover }, 1.5), {
    effect: 'handed over',
    detail: '2 segments, gap 1.2 s at 13.4 s',
  });
  assert.deepEqual(
    classifyEffect({ status: 'done', problems: [], durationShortBySec: 0, handover: { segments: 2, gaps: [], at: undefined } }, 1.5).detail,
    '2 segments, no gap',
  );
  // shorter than it ran beyond its declared gaps: still a gap, the handover said beside it
  const short = classifyEffect({ status: 'done', problems: ['lasts 20 s'], durationShortBySec: 9, handover }, 1.5);
  assert.equal(short.effect, 'gap');
  assert.match(short.detail, /9\.0 s shorter than it ran; 2 segments, gap 1\.2 s/);
  assert.equal(classifyEffect({ status: 'done', problems: ['decode errors: x'], durationShortBySec: 0, handover }, 1.5).effect, 'lost');
  // a joined file that claims far more than the time it ran is damage, not a handover
  assert.deepEqual(classifyEffect({ status: 'done', problems: ['lasts 117.73 s, expected 28.7 ± 1.5 s'], durationShortBySec: -0.1, handover }, 1.5), {
    effect: 'lost',
    detail: 'lasts 117.73 s, expected 28.7 ± 1.5 s',
  });

  // the kill at 15 s moved it (its second segment began at 16.3 s); the NATS restart at 25 s it ran through
  const events = [
    { key: 'kill', at: 15_000 },
    { key: 'nats', at: 25_000 },
  ];
  const out = attributeChaos(
    events,
    [
      {
        recordingId: 'moved',
        status: 'done',
        problems: [],
        startAskedAt: 0,
        stopAskedAt: 40_000,
        fileEndAt: 39_900,
        durationShortBySec: 0.1,
        stopReason: 'requested',
        handover,
      },
    ],
    1.5,
  );
  assert.deepEqual(
    out.get('kill')?.map((a) => [a.effect, a.detail]),
    [['handed over', '2 segments, gap 1.2 s at 13.4 s']],
  );
  assert.deepEqual(
    out.get('nats')?.map((a) => a.effect),
    ['untouched'],
  );
});
