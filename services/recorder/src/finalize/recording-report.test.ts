import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRecording } from '../recording-plan.js';
import { buildReport, type ReportInput } from './recording-report.js';

const plan = planRecording(
  {
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [
      { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000 },
      { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, port: 50002 },
    ],
  },
  { engine: 'gstreamer', recordingsDir: '/rec', bindAddress: '127.0.0.1', maxDurationMs: 1000 },
);
const facts = {
  sizeBytes: 5000,
  durationMs: 8000,
  formatName: 'mp4',
  tracks: [{ kind: 'video' as const, codec: 'h264', width: 640, height: 360 }],
  encoder: undefined,
};
const input = (over: Partial<ReportInput> = {}): ReportInput => ({
  plan,
  recorderId: 'rcd_1',
  file: { ok: true, facts },
  decode: { clean: true, scope: 'full', errors: [] },
  finalizeProblem: undefined,
  startedAt: new Date('2026-01-01T00:00:01Z'),
  stoppedAt: new Date('2026-01-01T00:00:09Z'),
  reason: 'requested',
  ...over,
});

test('a probed file with media is done, with its facts', () => {
  const report = buildReport(input());
  assert.equal(report.status, 'done');
  assert.equal(report.durationMs, 8000);
  assert.equal(report.sizeBytes, 5000);
  assert.equal(report.fileName, 'rec_1.mp4');
  assert.equal(report.decodesCleanly, true);
  assert.equal(report.decodeCheck, 'full');
  assert.equal(report.startedAt, '2026-01-01T00:00:01.000Z');
  assert.equal(report.error, undefined);
});

test('decode errors are reported, the file still counts as recorded', () => {
  const report = buildReport(input({ decode: { clean: false, scope: 'full', errors: ['x'] } }));
  assert.equal(report.status, 'done');
  assert.equal(report.decodesCleanly, false);
});

test('a decode cut short by its budget says so: clean as far as it was checked, scope partial; no check at all is none', () => {
  const partial = buildReport(input({ decode: { clean: true, scope: 'partial', errors: [] } }));
  assert.equal(partial.decodesCleanly, true);
  assert.equal(partial.decodeCheck, 'partial');
  const none = buildReport(input({ decode: { clean: false, scope: 'none', errors: [] } }));
  assert.equal(none.decodesCleanly, false);
  assert.equal(none.decodeCheck, 'none');
});

test('a file that fails the probe is failed with the reason, never done', () => {
  const report = buildReport(
    input({ file: { ok: false, error: { code: 'FILE_INVALID', message: 'ffprobe cannot read the file: moov atom not found' } }, decode: undefined }),
  );
  assert.equal(report.status, 'failed');
  assert.deepEqual(report.error, { code: 'FILE_INVALID', message: 'ffprobe cannot read the file: moov atom not found' });
  assert.equal(report.decodesCleanly, false);
});

test('no media: an empty file, or a file without tracks', () => {
  const never = buildReport(
    input({ startedAt: undefined, reason: 'rtp-timeout', file: { ok: false, error: { code: 'FILE_INVALID', message: 'the recording file is empty' } } }),
  );
  assert.equal(never.status, 'failed');
  assert.equal(never.error?.code, 'NO_MEDIA');
  assert.equal(never.startedAt, null);
  const noTracks = buildReport(input({ file: { ok: true, facts: { ...facts, tracks: [] } } }));
  assert.equal(noTracks.error?.code, 'NO_MEDIA');
});

test('a report that does not wait for the decode says pending: not known yet, not clean', () => {
  const report = buildReport(input({ decode: 'pending' }));
  assert.equal(report.status, 'done');
  assert.equal(report.decodeCheck, 'pending');
  assert.equal(report.decodesCleanly, false);
});

test("the file's stats travel in the report, done or failed; a probe without them sends none", () => {
  const stats = { framesWritten: 160, keyframesReceived: 2, longestGapMs: 60, resolutionChanges: [{ atMs: 0, width: 640, height: 360 }] };
  assert.deepEqual(buildReport(input({ file: { ok: true, facts: { ...facts, stats } } })).stats, stats);
  const remuxFailed = buildReport(input({ plan: { ...plan, finalize: 'remux' }, file: { ok: true, facts: { ...facts, stats } }, finalizeProblem: 'x' }));
  assert.equal(remuxFailed.status, 'failed');
  assert.deepEqual(remuxFailed.stats, stats);
  assert.equal(buildReport(input()).stats, undefined);
});
