import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsPermissions, replySchema, rpc, rpcSubject, type RpcDescriptor } from './index.js';

const all: Array<[string, RpcDescriptor]> = Object.entries(rpc).flatMap(([group, descriptors]) =>
  Object.entries(descriptors as Record<string, RpcDescriptor>).map(([key, d]): [string, RpcDescriptor] => [`${group}.${key}`, d]),
);

/** NATS subject matching: `*` one token, `>` the rest. */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

const concrete = (d: RpcDescriptor) => rpcSubject(d, typeof d.subject === 'string' ? undefined : 'id_1');

test('every descriptor has a versioned subject of its own service and the unavailable code of that service', () => {
  const subjects = new Set<string>();
  for (const [key, d] of all) {
    const subject = concrete(d);
    assert.match(subject, new RegExp(`^${d.service}\\.v1\\.`), key);
    assert.ok(!subjects.has(subject), `${key}: ${subject} is used twice`);
    subjects.add(subject);
    assert.equal(d.unavailable, d.service === 'media' ? 'MEDIA_UNAVAILABLE' : 'RECORDER_UNAVAILABLE', key);
    assert.ok(d.name.startsWith(`${d.service}.`), key);
  }
  assert.equal(all.length, 11);
});

test('the serving service may subscribe to each descriptor, and some other service may ask it', () => {
  for (const [key, d] of all) {
    const subject = concrete(d);
    const server = natsPermissions(d.service);
    assert.ok(server.allowResponses, `${d.service} answers requests`);
    assert.ok(
      server.subscribe.some((p) => matches(p, subject)),
      `${d.service} may subscribe to ${key} (${subject})`,
    );
    const askers = (['signaling', 'media', 'recorder'] as const).filter((s) => natsPermissions(s).publish.some((p) => matches(p, subject)));
    assert.ok(askers.length > 0, `nobody may ask ${key}`);
  }
  // who asks what, as the services do it
  assert.ok(natsPermissions('media').publish.some((p) => matches(p, rpcSubject(rpc.recorder.startOn, 'rcd_1'))));
  assert.ok(!natsPermissions('signaling').publish.some((p) => matches(p, rpc.recorder.start.subject)), 'signaling never starts a recorder itself');
});

test('work any instance may take goes to a queue group; pings and per-instance subjects do not', () => {
  assert.equal(rpc.media.createSession.queue, 'media-v1');
  assert.equal(rpc.recorder.start.queue, 'recorder-v1');
  // every instance must answer a ping (gather), so no queue group
  assert.equal(rpc.media.ping.queue, undefined);
  assert.equal(rpc.recorder.ping.queue, undefined);
  // the per-instance twin of a queue request is the same call: same name (metrics), same schemas
  assert.equal(rpc.recorder.startOn.name, rpc.recorder.start.name);
  assert.equal(rpc.recorder.startOn.request, rpc.recorder.start.request);
  assert.equal(rpc.media.createSessionOn.reply, rpc.media.createSession.reply);
});

test('rpcSubject: an instance request needs a valid id, a shared one takes none', () => {
  assert.equal(rpcSubject(rpc.recorder.stop, 'rcd_a1'), 'recorder.v1.rcd_a1.stop');
  assert.equal(rpcSubject(rpc.media.startRecording, 'med_1'), 'media.v1.med_1.recording.start');
  assert.equal(rpcSubject(rpc.recorder.start), 'recorder.v1.start');
  assert.throws(() => rpcSubject(rpc.recorder.stop), /its id is needed/);
  assert.throws(() => rpcSubject(rpc.recorder.start, 'rcd_1'), /no id/);
  for (const bad of ['a.b', '*', '>', '']) assert.throws(() => rpcSubject(rpc.recorder.pingOne, bad), TypeError, bad);
});

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
  startedAt: null,
  stoppedAt: new Date().toISOString(),
  reason: 'requested',
};

test('request schemas: what the callers send passes, a malformed request does not', () => {
  const start = {
    recordingId: 'rec_1',
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [{ kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000 }],
  };
  assert.equal(rpc.recorder.start.request.safeParse(start).success, true);
  assert.equal(rpc.recorder.start.request.safeParse({ ...start, tracks: [] }).success, false);
  assert.equal(rpc.recorder.stop.request.safeParse({ recordingId: 'rec_1', reason: 'requested', handover: true }).success, true);
  assert.equal(rpc.recorder.stop.request.safeParse({ recordingId: 'rec_1', reason: 'bored' }).success, false);
  assert.equal(rpc.media.createSession.request.safeParse({ sessionId: 'ses_1', offer: 'v=0' }).success, true);
  assert.equal(rpc.media.createSession.request.safeParse({ sessionId: 'ses.1', offer: 'v=0' }).success, false);
  assert.equal(rpc.media.startRecording.request.safeParse({ sessionId: 'ses_1', recordingId: 'rec_1' }).success, true);
  assert.equal(rpc.media.stopRecording.request.safeParse({ sessionId: 'ses_1', recordingId: 'rec_1' }).success, false, 'a stop needs its reason');
  // pings are strict: nothing else may ride on them
  for (const ping of [rpc.media.ping, rpc.recorder.ping, rpc.recorder.pingOne]) {
    assert.equal(ping.request.safeParse({}).success, true, ping.name);
    assert.equal(ping.request.safeParse({ recordingId: 'rec_1' }).success, false, ping.name);
  }
});

test('reply schemas: a valid reply, a typed error, and a reply that breaks the contract', () => {
  const stop = replySchema(rpc.recorder.stop.reply);
  assert.equal(stop.safeParse({ ok: true, result: report }).success, true);
  assert.equal(stop.safeParse({ ok: false, error: { code: 'NO_SUCH_RECORDING', message: 'no' } }).success, true);
  assert.equal(stop.safeParse({ ok: false, error: { code: 'NOT_A_CODE', message: 'no' } }).success, false);
  assert.equal(stop.safeParse({ ok: true, result: { ...report, status: 'maybe' } }).success, false);
  assert.equal(replySchema(rpc.media.stopRecording.reply).safeParse({ ok: true, result: report }).success, true, 'media passes the report on');

  const listening = { recordingId: 'rec_1', recorderId: 'rcd_1', host: '10.0.0.5', ports: [50000, 50001], fileName: 'rec_1.mp4', engine: 'gstreamer' };
  assert.equal(rpc.recorder.start.reply.safeParse(listening).success, true);
  assert.equal(rpc.recorder.start.reply.safeParse({ ...listening, host: '' }).success, false);
  assert.equal(rpc.recorder.ping.reply.safeParse({ recorderId: 'rcd_1', engine: 'ffmpeg', host: 'h', active: 0, capacity: 4 }).success, true);
  assert.equal(rpc.recorder.ping.reply.safeParse({ recorderId: 'rcd_1', engine: 'ffmpeg', host: 'h', active: -1, capacity: 4 }).success, false);
  assert.equal(rpc.media.ping.reply.safeParse({ mediaId: 'med_1', sessions: 0, recordings: 0, capacity: 10 }).success, true);
  assert.equal(rpc.media.createSession.reply.safeParse({ sessionId: 'ses_1', mediaId: 'med_1', answer: '', tracks: [] }).success, false, 'an empty answer');
  assert.equal(rpc.media.closeSession.reply.safeParse({ sessionId: 'ses_1', closed: true }).success, true);
  assert.equal(
    rpc.media.startRecording.reply.safeParse({
      recordingId: 'rec_1',
      recorderId: 'rcd_1',
      container: 'webm',
      audioCodec: null,
      fileName: 'rec_1.webm',
      tracks: [{ kind: 'video', codec: 'vp8', port: 50000 }],
    }).success,
    true,
  );
});
