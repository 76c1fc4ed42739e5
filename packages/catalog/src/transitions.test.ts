import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recording, RecordingReport } from '@recstack/contracts';
import { RecordingSchema } from '@recstack/contracts';
import {
  addSegment,
  applyFileCheck,
  applyIngestStats,
  applyReport,
  applySalvageReport,
  claimRecording,
  markFailed,
  markFirstKeyframe,
  markPlaced,
  markStopping,
  markStored,
  newRecording,
} from './transitions.js';

const at = new Date('2025-01-01T00:00:10.000Z');

function entry(over: Partial<Recording> = {}): Recording {
  return {
    id: 'rec_1',
    sessionId: 'ses_1',
    status: 'recording',
    createdAt: '2025-01-01T00:00:00.000Z',
    startedAt: '2025-01-01T00:00:01.000Z',
    stoppedAt: null,
    updatedAt: '2025-01-01T00:00:01.000Z',
    durationMs: null,
    sizeBytes: null,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [],
    fileName: 'rec_1.mp4',
    storage: 'local',
    mediaId: 'med_1',
    recorderId: 'rcd_old',
    firstKeyframeMs: 1000,
    stopReason: null,
    ...over,
  };
}

function report(over: Partial<RecordingReport> = {}): RecordingReport {
  return {
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    recorderId: 'rcd_new',
    status: 'done',
    fileName: 'rec_1.mp4',
    sizeBytes: 1000,
    durationMs: 6000,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [{ kind: 'video', codec: 'h264', width: 640, height: 360 }],
    decodesCleanly: true,
    startedAt: '2025-01-01T00:00:01.000Z',
    stoppedAt: '2025-01-01T00:00:07.000Z',
    reason: 'error',
    ...over,
  };
}

test("a report says where the file is; a report without storage keeps the entry's", () => {
  assert.equal(applyReport(entry(), report({ storage: 'nats' }), at).storage, 'nats');
  assert.equal(applyReport(entry({ storage: 'local' }), report(), at).storage, 'local');
});

test("a done report publishes the recorder's decode check; a failed one has none", () => {
  assert.deepEqual(applyReport(entry(), report({ decodesCleanly: false, decodeCheck: 'full' }), at).fileCheck, { decodesCleanly: false, scope: 'full' });
  assert.deepEqual(applyReport(entry(), report({ decodesCleanly: true, decodeCheck: 'partial' }), at).fileCheck, { decodesCleanly: true, scope: 'partial' });
  // a recorder that predates decodeCheck always decoded the whole file
  assert.deepEqual(applyReport(entry(), report({ decodesCleanly: true }), at).fileCheck, { decodesCleanly: true, scope: 'full' });
  const failed = report({ status: 'failed', decodesCleanly: false, decodeCheck: 'none', error: { code: 'NO_MEDIA', message: 'no media' } });
  assert.equal(applyReport(entry(), failed, at).fileCheck, null);
});

test('a pending decode check leaves fileCheck null until the background verification fills it, on a done entry only', () => {
  const done = applyReport(entry(), report({ decodesCleanly: false, decodeCheck: 'pending' }), at);
  assert.equal(done.status, 'done');
  assert.equal(done.fileCheck, null, 'not verified yet: nothing to warn about');
  const later = new Date('2025-01-01T00:00:20.000Z');
  const verified = applyFileCheck(done, { decodesCleanly: true, scope: 'full' }, later);
  assert.deepEqual(verified.fileCheck, { decodesCleanly: true, scope: 'full' });
  assert.equal(verified.updatedAt, later.toISOString());
  const open = entry();
  assert.equal(applyFileCheck(open, { decodesCleanly: true, scope: 'full' }, later), open, 'an open entry is not verified');
});

test('a salvage report finishes an open entry like any report; the salvaging recorder is named by its claim, not the report', () => {
  const claimed = claimRecording(entry(), 'rcd_old', 'rcd_new', at);
  const done = applySalvageReport(claimed, report({ storage: 'nats' }), at);
  assert.equal(done.status, 'done');
  assert.equal(done.stopReason, 'error');
  assert.equal(done.durationMs, 6000);
  assert.equal(done.recorderId, 'rcd_new');
  assert.equal(done.storage, 'nats');
  assert.equal(applySalvageReport(entry(), report(), at).recorderId, 'rcd_old', 'an unclaimed entry keeps its recorder');
});

test('an entry failed because its recorder vanished keeps failed but gets the recovered file', () => {
  const failed = markFailed(entry(), { code: 'RECORDER_UNAVAILABLE', message: 'recorder rcd_old stopped answering' }, at);
  const salvaged = applySalvageReport(failed, report({ storage: 'nats' }), at);
  assert.equal(salvaged.status, 'failed');
  assert.equal(salvaged.error?.code, 'RECORDER_UNAVAILABLE');
  assert.match(salvaged.error?.message ?? '', /recovered.*6 s/);
  assert.equal(salvaged.durationMs, 6000);
  assert.equal(salvaged.sizeBytes, 1000);
  assert.deepEqual(salvaged.fileCheck, { decodesCleanly: true, scope: 'full' }, "the recovered file's decode check");
  assert.equal(salvaged.storage, 'nats');
  assert.equal(salvaged.tracks.length, 1);
  // once only, and only for a playable file and a "holder lost" failure
  assert.equal(applySalvageReport(salvaged, report({ durationMs: 1 }), at), salvaged);
  assert.equal(applySalvageReport(failed, report({ status: 'failed', error: { code: 'NO_MEDIA', message: 'x' } }), at), failed);
  const badFile = markFailed(entry(), { code: 'FILE_INVALID', message: 'broken' }, at);
  assert.equal(applySalvageReport(badFile, report(), at), badFile);
  const done = applyReport(entry(), report({ recorderId: 'rcd_old' }), at);
  assert.equal(applySalvageReport(done, report(), at), done);
});

test('claiming: only from the recorder id that was read, and idempotent for the claimer', () => {
  const open = entry();
  const claimed = claimRecording(open, 'rcd_old', 'rcd_new', at);
  assert.equal(claimed.recorderId, 'rcd_new');
  assert.equal(claimRecording(claimed, 'rcd_old', 'rcd_other', at), claimed, 'someone else claimed it first');
  assert.equal(claimRecording(claimed, 'rcd_old', 'rcd_new', at), claimed, 'already ours');
  assert.equal(claimRecording(entry({ recorderId: null }), null, 'rcd_new', at).recorderId, 'rcd_new');
});

test('markStored moves only a finished entry whose file is the one uploaded', () => {
  const done = applyReport(entry(), report({ storage: 'local' }), at);
  assert.equal(markStored(done, 'rec_1.mp4', 'nats', at).storage, 'nats');
  assert.equal(markStored(done, 'rec_other.mp4', 'nats', at), done);
  const open = markFirstKeyframe(entry({ status: 'starting', startedAt: null }), at);
  assert.equal(markStored(open, 'rec_1.mp4', 'nats', at), open);
});

const fileStats = {
  framesWritten: 120,
  keyframesReceived: 3,
  longestGapMs: 210,
  resolutionChanges: [
    { atMs: 0, width: 640, height: 360 },
    { atMs: 1500, width: 1280, height: 720 },
  ],
};
const ingest = { packetsReceived: 900, packetsLost: 4, packetsRetransmitted: 12, keyframesRequested: 2 };

test("stats: media's ingest counts and the recorder's file counts merge, in either order, neither undoing the other", () => {
  const recorderFirst = applyIngestStats(applyReport(entry(), report({ stats: fileStats }), at), ingest, at);
  const mediaFirst = applyReport(applyIngestStats(entry(), ingest, at), report({ stats: fileStats }), at);
  const whole = { ...ingest, ...fileStats };
  assert.deepEqual(recorderFirst.stats, whole);
  assert.deepEqual(mediaFirst.stats, whole);
  assert.equal(recorderFirst.status, 'done', 'ingest counts land on a done entry too');
});

test('stats: a part not written yet is null; a report without stats keeps what media wrote; the same counts again change nothing', () => {
  const onlyIngest = applyIngestStats(entry(), ingest, at);
  assert.equal(onlyIngest.stats?.framesWritten, null);
  assert.equal(onlyIngest.stats?.resolutionChanges, null);
  assert.deepEqual(applyReport(onlyIngest, report(), at).stats, onlyIngest.stats);
  assert.equal(applyReport(entry(), report(), at).stats, undefined, 'no stats from an older recorder: none invented');
  assert.equal(applyIngestStats(onlyIngest, ingest, new Date(at.getTime() + 1000)), onlyIngest);
});

test('stats: a salvaged file brings its file counts to a failed entry', () => {
  const failed = entry({ status: 'failed', error: { code: 'RECORDER_UNAVAILABLE', message: 'gone' }, durationMs: null });
  assert.deepEqual(applySalvageReport(failed, report({ stats: fileStats }), at).stats?.resolutionChanges, fileStats.resolutionChanges);
});

test('newRecording: the entry of a recording just asked for, valid as the catalog stores it', () => {
  const rec = newRecording({ id: 'rec_2', sessionId: 'ses_2', mediaId: 'med_2', container: 'webm', audioCodec: 'opus', at });
  assert.deepEqual(RecordingSchema.parse(rec), rec);
  assert.equal(rec.status, 'starting');
  assert.equal(rec.createdAt, at.toISOString());
  assert.equal(rec.updatedAt, at.toISOString());
  assert.equal(rec.fileName, 'rec_2.webm', "named after the id, with the container's extension");
  assert.equal(rec.mediaId, 'med_2');
  assert.equal(rec.recorderId, null, 'no recorder until media places it');
  assert.equal(rec.storage, 'local');
  assert.equal(rec.fileCheck, null);
  assert.deepEqual([rec.startedAt, rec.stoppedAt, rec.durationMs, rec.sizeBytes, rec.firstKeyframeMs, rec.stopReason], [null, null, null, null, null, null]);
  assert.deepEqual(rec.tracks, []);
  assert.equal(rec.stats, undefined);
  assert.equal(newRecording({ id: 'rec_3', sessionId: 'ses_2', mediaId: null, container: 'mp4', audioCodec: null, at }).fileName, 'rec_3.mp4');
  assert.equal(newRecording({ id: 'rec_4', sessionId: 'ses_2', mediaId: null, container: 'mkv', audioCodec: 'aac', at }).fileName, 'rec_4.mkv');
});

test('markPlaced names the recorder once; a finished entry is not touched', () => {
  const fresh = newRecording({
    id: 'rec_2',
    sessionId: 'ses_2',
    mediaId: 'med_1',
    container: 'mp4',
    audioCodec: 'aac',
    at: new Date('2025-01-01T00:00:00.000Z'),
  });
  const placed = markPlaced(fresh, 'rcd_1', at);
  assert.equal(placed.recorderId, 'rcd_1');
  assert.equal(placed.mediaId, 'med_1', "the session's media, from the creation");
  assert.equal(placed.status, 'starting', 'placement is not a status change: the first keyframe makes it recording');
  assert.equal(placed.updatedAt, at.toISOString());
  assert.equal(markPlaced(placed, 'rcd_1', new Date(at.getTime() + 1000)), placed, 'the same placement again changes nothing');
  assert.equal(markPlaced(placed, 'rcd_2', at).recorderId, 'rcd_2', 'a retried start that landed on another recorder');
  const failed = markFailed(fresh, { code: 'TIMEOUT', message: 'the start took too long' }, at);
  assert.equal(markPlaced(failed, 'rcd_1', at), failed, 'a start given up on stays as it is');
});

test('the report does not move recorderId: media placed it, a handover or a claim moved it', () => {
  assert.equal(applyReport(entry({ recorderId: 'rcd_old' }), report({ recorderId: 'rcd_new' }), at).recorderId, 'rcd_old');
  const handedOver = addSegment(
    entry(),
    { recorderId: 'rcd_old', startedAt: null, endedAt: null, file: 'rec_1.mp4' },
    { recorderId: 'rcd_new', startedAt: null, endedAt: null, file: 'rec_1-s1.mp4' },
    at,
  );
  assert.equal(handedOver.recorderId, 'rcd_new');
  assert.equal(applyReport(handedOver, report({ recorderId: 'rcd_new' }), at).recorderId, 'rcd_new');
});

test("markStopping: the first stop's reason stays, later stops and finished entries change nothing", () => {
  const stopping = markStopping(entry(), 'publisher-left', at);
  assert.equal(stopping.status, 'stopping');
  assert.equal(stopping.stopReason, 'publisher-left');
  assert.equal(markStopping(stopping, 'requested', at), stopping);
  const starting = markStopping(entry({ status: 'starting', startedAt: null }), 'requested', at);
  assert.equal(starting.status, 'stopping', 'a recording stopped before its first keyframe');
  const done = applyReport(entry(), report(), at);
  assert.equal(markStopping(done, 'requested', at), done);
});
