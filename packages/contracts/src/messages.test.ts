import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RecorderStartRequestSchema,
  RecordingEventSchema,
  CreateSessionRequestSchema,
  replySchema,
  RecordingSchema,
  RecordingReportSchema,
  RecorderPongSchema,
  canTransition,
  subjects,
  subjectToken,
  MAX_SDP_BYTES,
} from './index.js';
import { z } from 'zod';

const track = (over: Record<string, unknown> = {}) => ({ kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000, ...over });

test('a recorder start request needs distinct ports, one track per kind and matching codecs', () => {
  const ok = RecorderStartRequestSchema.safeParse({
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [track(), track({ kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, port: 50002 })],
  });
  assert.equal(ok.success, true);
  const samePorts = RecorderStartRequestSchema.safeParse({
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [track(), track({ kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, port: 50001 })],
  });
  assert.equal(samePorts.success, false, 'the RTCP port of one track may not be the RTP port of another');
  const twoVideo = RecorderStartRequestSchema.safeParse({
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: null,
    tracks: [track(), track({ port: 50010 })],
  });
  assert.equal(twoVideo.success, false);
  const wrongKind = RecorderStartRequestSchema.safeParse({
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: null,
    tracks: [track({ kind: 'audio' })],
  });
  assert.equal(wrongKind.success, false);
  const badPt = RecorderStartRequestSchema.safeParse({
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: null,
    tracks: [track({ payloadType: 200 })],
  });
  assert.equal(badPt.success, false);
});

test('ids are refused when they could change a subject or a path', () => {
  for (const bad of ['a.b', 'a*', 'a>', '../x', '', 'x'.repeat(65), 'a b']) {
    assert.equal(CreateSessionRequestSchema.safeParse({ sessionId: bad, offer: 'v=0' }).success, false, bad);
    assert.throws(() => subjectToken(bad));
  }
  assert.equal(subjects.media.startRecording('med_1'), 'media.v1.med_1.recording.start');
  assert.throws(() => subjects.recorder.stop('a.*'));
});

test('an SDP offer larger than the bound is refused', () => {
  assert.equal(CreateSessionRequestSchema.safeParse({ sessionId: 's', offer: 'x'.repeat(MAX_SDP_BYTES + 1) }).success, false);
});

test('events are a discriminated union on type', () => {
  const at = new Date().toISOString();
  assert.equal(RecordingEventSchema.safeParse({ type: 'first-keyframe', recordingId: 'r', recorderId: 'x', at }).success, true);
  assert.equal(RecordingEventSchema.safeParse({ type: 'first-keyframe', recordingId: 'r', at }).success, false);
  assert.equal(RecordingEventSchema.safeParse({ type: 'nonsense', recordingId: 'r', at }).success, false);
});

test('replies are either a result or a typed error', () => {
  const schema = replySchema(z.object({ n: z.number() }));
  assert.equal(schema.safeParse({ ok: true, result: { n: 1 } }).success, true);
  assert.equal(schema.safeParse({ ok: false, error: { code: 'PORT_IN_USE', message: 'x' } }).success, true);
  assert.equal(schema.safeParse({ ok: false, error: { code: 'WHATEVER', message: 'x' } }).success, false);
  assert.equal(schema.safeParse({ ok: true }).success, false);
});

test('status only moves forward', () => {
  assert.equal(canTransition('starting', 'recording'), true);
  assert.equal(canTransition('recording', 'stopping'), true);
  assert.equal(canTransition('stopping', 'done'), true);
  assert.equal(canTransition('done', 'recording'), false);
  assert.equal(canTransition('failed', 'done'), false);
  assert.equal(canTransition('stopping', 'recording'), false);
});

test('a recording object round-trips through its schema', () => {
  const now = new Date().toISOString();
  const rec = {
    id: 'rec_1',
    sessionId: 'ses_1',
    status: 'done',
    createdAt: now,
    startedAt: now,
    stoppedAt: now,
    updatedAt: now,
    durationMs: 8000,
    sizeBytes: 1234,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [
      { kind: 'video', codec: 'h264', width: 640, height: 480 },
      { kind: 'audio', codec: 'aac', sampleRate: 48000, channels: 2 },
    ],
    fileName: 'rec_1.mp4',
    storage: 'local',
    mediaId: 'med_1',
    recorderId: 'rcd_1',
    firstKeyframeMs: 120,
    stopReason: 'requested',
  };
  assert.deepEqual(RecordingSchema.parse(rec), rec);
  assert.equal(RecordingSchema.safeParse({ ...rec, status: 'paused' }).success, false);
});

test('a recording the recorder ended at its longest duration says so', () => {
  const at = new Date().toISOString();
  assert.equal(RecordingEventSchema.safeParse({ type: 'stopping', recordingId: 'r', reason: 'max-duration', at }).success, true);
  assert.equal(RecordingEventSchema.safeParse({ type: 'stopping', recordingId: 'r', reason: 'too-long', at }).success, false);
});

test('a report may say where its file is, and reports without it still parse (older recorders)', () => {
  const at = new Date().toISOString();
  const report = {
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    recorderId: 'rcd_1',
    status: 'done',
    fileName: 'rec_1.mp4',
    sizeBytes: 10,
    durationMs: 1000,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [],
    decodesCleanly: true,
    startedAt: at,
    stoppedAt: at,
    reason: 'requested',
  };
  assert.equal(RecordingReportSchema.parse(report).storage, undefined);
  assert.equal(RecordingReportSchema.parse({ ...report, storage: 'nats' }).storage, 'nats');
  assert.equal(RecordingReportSchema.safeParse({ ...report, storage: 's3' }).success, false);
});

test('a recorder pong may list the recordings it holds; without the list it still parses', () => {
  const pong = { recorderId: 'rcd_1', engine: 'gstreamer', host: '127.0.0.1', active: 1, capacity: 16 };
  assert.equal(RecorderPongSchema.parse(pong).recordings, undefined);
  assert.deepEqual(RecorderPongSchema.parse({ ...pong, recordings: ['rec_1'] }).recordings, ['rec_1']);
  assert.equal(RecorderPongSchema.safeParse({ ...pong, recordings: ['a.b'] }).success, false, 'ids only');
});
