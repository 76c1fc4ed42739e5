import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording } from '@recstack/contracts';
import { STALE_FILE_MS, decide, holderGone, leftBySameId, onRestart, type ReconcileView } from './reconcile-decision.js';

const now = Date.parse('2025-01-01T01:00:00.000Z');
const longAgo = new Date(now - 10 * 60_000).toISOString();
const justNow = new Date(now - 1000).toISOString();

function entry(over: Partial<Recording> = {}): Recording {
  return {
    id: 'rec_1',
    sessionId: 'ses_1',
    status: 'recording',
    createdAt: longAgo,
    startedAt: longAgo,
    stoppedAt: null,
    updatedAt: longAgo,
    durationMs: null,
    sizeBytes: null,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [],
    fileName: 'rec_1.mp4',
    storage: 'local',
    mediaId: 'med_1',
    recorderId: 'rcd_dead',
    firstKeyframeMs: 100,
    stopReason: null,
    ...over,
  };
}

function view(over: Partial<ReconcileView> = {}): ReconcileView {
  return {
    now,
    selfId: 'rcd_me',
    recorders: new Map([['rcd_me', undefined]]),
    missedTwice: new Set(['rcd_dead']),
    media: new Set(),
    storage: 'local',
    graceMs: 60_000,
    ...over,
  };
}

const staleFile = { modifiedMs: now - STALE_FILE_MS - 1 };
const freshFile = { modifiedMs: now - 200 };

test('a recorder counts as gone after two missed pings, or when it answers without the recording (past the grace)', () => {
  assert.equal(holderGone(entry(), view()), true);
  assert.equal(holderGone(entry(), view({ missedTwice: new Set() })), false, 'one miss is not enough');
  const alive = new Map<string, ReadonlySet<string> | undefined>([['rcd_dead', new Set(['rec_other'])]]);
  assert.equal(holderGone(entry(), view({ recorders: alive, missedTwice: new Set() })), true);
  assert.equal(holderGone(entry({ updatedAt: justNow }), view({ recorders: alive, missedTwice: new Set() })), false, 'it may have just finished it');
  const unlisted = new Map<string, ReadonlySet<string> | undefined>([['rcd_dead', undefined]]);
  assert.equal(holderGone(entry(), view({ recorders: unlisted })), false, 'an older recorder that does not list its recordings is trusted');
  assert.equal(holderGone(entry({ recorderId: 'rcd_me' }), view()), true, 'this instance by name (restart with the same id)');
  const someoneHolds = new Map<string, ReadonlySet<string> | undefined>([['rcd_other', new Set(['rec_1'])]]);
  assert.equal(holderGone(entry({ recorderId: null }), view({ recorders: someoneHolds })), false, 'a recorder that lists it holds it, whatever the entry says');
});

test('an open recording whose recorder is gone and whose file is here is salvaged, once nobody writes the file', () => {
  assert.deepEqual(decide(entry(), staleFile, view()), { type: 'salvage' });
  assert.equal(decide(entry(), freshFile, view()).type, 'leave');
  assert.equal(decide(entry({ status: 'stopping' }), staleFile, view()).type, 'salvage');
  assert.equal(decide(entry({ status: 'starting', recorderId: null }), staleFile, view()).type, 'salvage');
});

test('an open recording whose recorder is alive is left to it', () => {
  const alive = new Map<string, ReadonlySet<string> | undefined>([['rcd_dead', new Set(['rec_1'])]]);
  assert.equal(decide(entry(), staleFile, view({ recorders: alive, missedTwice: new Set() })).type, 'leave');
});

test('with no file here: failed only when recorder and media are gone for longer than the grace period', () => {
  const failed = decide(entry(), undefined, view());
  assert.equal(failed.type, 'fail');
  assert.equal(failed.type === 'fail' && failed.error.code, 'RECORDER_UNAVAILABLE');
  assert.equal(decide(entry(), undefined, view({ media: new Set(['med_1']) })).type, 'leave', 'media watches its recorder');
  assert.equal(decide(entry({ updatedAt: justNow }), undefined, view()).type, 'leave', 'within the grace period');
  const neverStarted = decide(entry({ status: 'starting', recorderId: null }), undefined, view());
  assert.equal(neverStarted.type === 'fail' && neverStarted.error.code, 'MEDIA_UNAVAILABLE');
  assert.equal(decide(entry({ status: 'starting', recorderId: null }), undefined, view({ media: new Set(['med_1']) })).type, 'leave');
});

test('finished recordings: interrupted uploads resume, stale local copies of stored files go, the rest is left', () => {
  const done = entry({ status: 'done', durationMs: 5000, sizeBytes: 100 });
  assert.equal(decide(done, staleFile, view({ storage: 'nats' })).type, 'upload');
  assert.equal(decide(done, staleFile, view({ storage: 'local' })).type, 'leave');
  assert.equal(decide({ ...done, storage: 'nats' }, staleFile, view()).type, 'discard-local');
  assert.equal(decide(done, undefined, view({ storage: 'nats' })).type, 'leave');
  const uploading = new Map<string, ReadonlySet<string> | undefined>([['rcd_dead', new Set(['rec_1'])]]);
  assert.equal(
    decide(done, staleFile, view({ storage: 'nats', recorders: uploading, missedTwice: new Set() })).type,
    'leave',
    'its recorder is still uploading',
  );
});

test('a recording failed because its recorder vanished is salvaged when its file is here; other failures are final', () => {
  const lost = entry({ status: 'failed', error: { code: 'RECORDER_UNAVAILABLE', message: 'gone' } });
  assert.equal(decide(lost, staleFile, view()).type, 'salvage');
  assert.equal(decide({ ...lost, durationMs: 3000 }, staleFile, view()).type, 'leave', 'already salvaged');
  assert.equal(decide(entry({ status: 'failed', error: { code: 'NO_MEDIA', message: 'x' } }), staleFile, view()).type, 'leave');
});

test("a restart on a dead recorder's folder: a running recording whose segment an orphan wrote is reported lost and becomes a segment, never finished", () => {
  const orphan = new Set(['rec_1.mp4']);
  // another recorder id (a new container) or this one's own (a restart with the same RECORDER_ID)
  assert.deepEqual(onRestart(entry(), orphan, 'rcd_me', true, false), {
    lost: { recorderId: 'rcd_dead', file: 'rec_1.mp4' },
    segments: ['rec_1.mp4'],
    finish: false,
  });
  assert.deepEqual(onRestart(entry({ recorderId: 'rcd_me' }), orphan, 'rcd_me', true, false).lost, { recorderId: 'rcd_me', file: 'rec_1.mp4' });
  // the orphan died too (SIGPIPE on its stdout): the entry naming this id, held by nobody here, says the same
  assert.deepEqual(onRestart(entry({ recorderId: 'rcd_me' }), new Set(), 'rcd_me', true, false), {
    lost: { recorderId: 'rcd_me', file: 'rec_1.mp4' },
    segments: ['rec_1.mp4'],
    finish: false,
  });
  assert.equal(onRestart(entry({ status: 'starting' }), orphan, 'rcd_me', true, false).lost?.recorderId, 'rcd_dead');
});

test("a restart with the same RECORDER_ID: only entries changed before this process started are its predecessor's", () => {
  const startedAt = now - 500;
  assert.equal(leftBySameId(entry({ recorderId: 'rcd_me' }), 'rcd_me', startedAt), true, 'written long before');
  // placed on this process after it began to serve starts (the adoption's catalog read came later)
  assert.equal(leftBySameId(entry({ recorderId: 'rcd_me', updatedAt: new Date(now).toISOString() }), 'rcd_me', startedAt), false);
  assert.equal(leftBySameId(entry({ recorderId: 'rcd_me' }), 'rcd_me', undefined), false, 'a generated id names nothing older than the process');
  assert.equal(leftBySameId(entry({ recorderId: 'rcd_other' }), 'rcd_me', startedAt), false);
});

test('a restart: a recording already moved on is only given its segment files; one nobody feeds, or that is ending, is finished as before', () => {
  const handedOver = entry({
    recorderId: 'rcd_other',
    segments: [
      { recorderId: 'rcd_dead', startedAt: longAgo, endedAt: null, file: 'rec_1.mp4' },
      { recorderId: 'rcd_other', startedAt: null, endedAt: null, file: 'rec_1-s1.mp4' },
    ],
  });
  assert.deepEqual(onRestart(handedOver, new Set(['rec_1.mp4']), 'rcd_me', true, false), { segments: ['rec_1.mp4'], finish: false });
  // a start reached this process before the catalog read: media moved it here, the read predates that
  assert.deepEqual(onRestart(entry({ recorderId: 'rcd_me' }), new Set(['rec_1.mp4']), 'rcd_me', true, true), { segments: ['rec_1.mp4'], finish: false });
  assert.deepEqual(onRestart(entry(), new Set(['rec_1.mp4']), 'rcd_me', false, false), { segments: [], finish: true }, 'its media is gone');
  assert.deepEqual(onRestart(entry({ status: 'stopping' }), new Set(['rec_1.mp4']), 'rcd_me', true, false), { segments: [], finish: true });
  const done = entry({ status: 'done', durationMs: 5000 });
  assert.deepEqual(onRestart(done, new Set(['rec_1.mp4']), 'rcd_me', true, false), { segments: [], finish: false }, 'already reported');
  assert.deepEqual(
    onRestart(entry({ status: 'failed', error: { code: 'RECORDER_UNAVAILABLE', message: 'gone' } }), new Set(['rec_1.mp4']), 'rcd_me', true, false),
    {
      segments: [],
      finish: true,
    },
  );
  assert.deepEqual(onRestart(entry({ recorderId: null, status: 'starting' }), new Set(['rec_1.mp4']), 'rcd_me', true, false), {
    segments: ['rec_1.mp4'],
    finish: false,
  });
});
