import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import type { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import type { RecorderStartRequest, RecordingEvent, RecordingReport } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import { Admission } from './admission/admission.js';
import { defaultCostTable } from './admission/cost-table.js';
import type { RecorderEvents } from './recorder-events.js';
import { RecorderMetrics } from './recorder-metrics.js';
import { RecorderService, type CatalogWriter, type ServiceStorage, type ServiceVerification } from './recorder-service.js';
import { FakeClock, settle } from './testing/fake-clock.js';
import { fakeEngine, type FakeEngine } from './testing/fake-engine.js';

// The service's state logic (admission, registry, finisher, drain) with fake children, a fake clock and
// fakes of NATS, the catalog and the storage: no server, no process.

const logger = createLogger('recorder-service-test', 'silent');
const recordingsDir = tmpdir();

function request(id: string): RecorderStartRequest {
  return {
    recordingId: id,
    sessionId: 'ses_1',
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [
      { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000 },
      { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, port: 50002 },
    ].map((t) => ({ ...t, port: t.port + Number(id.replace(/\D/g, '')) * 4 })) as RecorderStartRequest['tracks'],
  };
}

/** A gate a test opens when it wants the waiting step to go on. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

interface Setup {
  service: RecorderService;
  clock: FakeClock;
  engine: FakeEngine;
  events: RecordingEvent[];
  catalogWrites: string[];
  subscriptions: Array<{ subject: string; unsubscribed: number }>;
  storage: { placeGate: Promise<void> | undefined; closed: number; kind: 'local' | 'nats' };
  verificationClosed: () => number;
  flushed: () => number;
}

function setup(options: { maxRecordings?: number } = {}): Setup {
  const clock = new FakeClock();
  const engine = fakeEngine();
  engine.listenAtOnce = true;
  const events: RecordingEvent[] = [];
  const catalogWrites: string[] = [];
  const subscriptions: Setup['subscriptions'] = [];
  let flushed = 0;
  let verificationClosed = 0;
  const nc = {
    subscribe(subject: string) {
      const sub = { subject, unsubscribed: 0 };
      subscriptions.push(sub);
      return { unsubscribe: () => void sub.unsubscribed++ };
    },
  } as unknown as NatsConnection;
  const recorderEvents: RecorderEvents = {
    recording: (event) => void events.push(event),
    verified: () => undefined,
    draining: () => true,
    lost: () => true,
    flush: async () => void flushed++,
  };
  // no catalog entries here: every write is recorded and finds none (as for a recording created without one)
  const catalog: CatalogWriter = {
    update: async (id) => {
      catalogWrites.push(id);
      return undefined;
    },
  };
  const storageState: Setup['storage'] = { placeGate: undefined, closed: 0, kind: 'local' };
  const storage: ServiceStorage = {
    get kind() {
      return storageState.kind;
    },
    pendingIds: [],
    isPending: () => false,
    place: async (report: RecordingReport) => {
      if (storageState.placeGate) await storageState.placeGate;
      return { ...report, storage: storageState.kind };
    },
    localPath: (fileName) => `${recordingsDir}/${fileName}`,
    discardLocal: async () => undefined,
    discardObject: async () => undefined,
    resume: () => undefined,
    close: async () => void storageState.closed++,
    placeSegment: async () => true,
    segmentSize: async () => undefined,
    fetchSegment: async () => false,
    discardSegment: async () => undefined,
  };
  const verification: ServiceVerification = {
    enqueue: () => false,
    settled: async () => undefined,
    hold: () => () => undefined,
    close: () => void verificationClosed++,
  };
  const admission = new Admission(
    { capacityUnits: 100_000, maxCpuPercent: 100, maxRecordings: options.maxRecordings ?? 16, costs: defaultCostTable('gstreamer') },
    () => undefined,
  );
  const service = new RecorderService(
    nc,
    catalog,
    {
      recorderId: 'rcd_test',
      host: '127.0.0.1',
      plan: { engine: 'gstreamer', recordingsDir, bindAddress: '127.0.0.1', maxDurationMs: 3_600_000 },
      recording: {
        recorderId: 'rcd_test',
        engine: { gstLaunch: 'gst-launch-1.0', ffmpeg: 'ffmpeg', jitterLatencyMs: 200, rtpTimeoutMs: 10_000 },
        tools: { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' },
        stopTimeoutMs: 10_000,
        rtpTimeoutMs: 10_000,
        listenTimeoutMs: 10_000,
        verify: true,
        childNice: 5,
      },
      salvage: {
        recorderId: 'rcd_test',
        recordingsDir,
        engine: 'gstreamer',
        bindAddress: '127.0.0.1',
        maxDurationMs: 3_600_000,
        tools: { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' },
        verify: true,
      },
      disk: { minFreeBytes: 0, stopFreeBytes: 0, maxFileBytes: 0 },
    },
    new RecorderMetrics(new Registry()),
    logger,
    storage,
    admission,
    verification,
    { clock, events: recorderEvents, job: engine.deps },
  );
  return {
    service,
    clock,
    engine,
    events,
    catalogWrites,
    subscriptions,
    storage: storageState,
    verificationClosed: () => verificationClosed,
    flushed: () => flushed,
  };
}

const typesOf = (events: RecordingEvent[], id: string) => events.filter((e) => e.recordingId === id).map((e) => e.type);

test('a start past MAX_RECORDINGS is refused with AT_CAPACITY before anything is spawned; the room comes back when one ends', async () => {
  const s = setup({ maxRecordings: 1 });
  const listening = await s.service.start(request('rec_1'));
  assert.equal(listening.recorderId, 'rcd_test');
  await assert.rejects(s.service.start(request('rec_2')), { code: 'AT_CAPACITY' });
  assert.equal(s.engine.children.length, 1, 'the refused start spawned nothing');
  assert.equal(s.service.activeCount, 1);
  assert.deepEqual(s.service.pong().recordings, ['rec_1']);
  await s.service.stop({ recordingId: 'rec_1', reason: 'requested' });
  await s.service.start(request('rec_2'));
  assert.equal(s.service.activeCount, 1);
});

test('a retried start of a running recording gets the same answer; other tracks under its id are a conflict', async () => {
  const s = setup();
  const first = await s.service.start(request('rec_1'));
  assert.deepEqual(await s.service.start(request('rec_1')), first);
  assert.equal(s.engine.children.length, 1);
  await assert.rejects(s.service.start({ ...request('rec_1'), tracks: request('rec_2').tracks }), { code: 'CONFLICT' });
});

test('a stop is answered with the report once storage, catalog and the finished event are through', async () => {
  const s = setup();
  s.storage.kind = 'nats';
  await s.service.start(request('rec_1'));
  const place = gate();
  s.storage.placeGate = place.wait;
  const answer: { report?: RecordingReport } = {};
  const stop = s.service.stop({ recordingId: 'rec_1', reason: 'requested' }).then((r) => (answer.report = r));
  await settle();
  assert.equal(answer.report, undefined, 'not while the file is being stored');
  assert.equal(s.service.activeCount, 0, 'the child is gone: no longer running');
  assert.deepEqual(s.service.pong().recordings, ['rec_1'], 'but still held here');
  // a second stop asked meanwhile finds the finishing recording
  const second = s.service.stop({ recordingId: 'rec_1', reason: 'requested' });
  place.open();
  const answered = await stop;
  assert.equal(answered.storage, 'nats', 'the answer is the stored report');
  assert.deepEqual(await second, answered);
  assert.deepEqual(typesOf(s.events, 'rec_1'), ['listening', 'finished']);
  const finished = s.events.find((e) => e.type === 'finished');
  assert.deepEqual(finished?.type === 'finished' ? finished.report : undefined, answered);
  assert.ok(s.catalogWrites.includes('rec_1'), 'the report went to the catalog');
});

test('the finished event of a recording that ended on its own comes first; a late stop still gets its report, and no second event', async () => {
  const s = setup();
  await s.service.start(request('rec_1'));
  s.engine.child('rec_1').exit({ code: null, signal: 'SIGSEGV', unexpected: true });
  await settle();
  assert.deepEqual(typesOf(s.events, 'rec_1'), ['listening', 'stopping', 'finished']);
  const late = await s.service.stop({ recordingId: 'rec_1', reason: 'requested' });
  assert.equal(late.reason, 'error');
  assert.deepEqual(typesOf(s.events, 'rec_1'), ['listening', 'stopping', 'finished']);
  await assert.rejects(s.service.stop({ recordingId: 'rec_9', reason: 'requested' }), { code: 'NO_SUCH_RECORDING' });
  await assert.rejects(s.service.start(request('rec_1')), { code: 'CONFLICT' }, 'an id that just ended is not started again');
});

test('a handover stop finalizes the segment and answers, without catalog writes or events', async () => {
  const s = setup();
  await s.service.start(request('rec_1'));
  const writesBefore = s.catalogWrites.length;
  const report = await s.service.stop({ recordingId: 'rec_1', reason: 'requested', handover: true });
  await settle();
  assert.equal(report.status, 'done');
  assert.deepEqual(typesOf(s.events, 'rec_1'), ['listening']);
  assert.equal(s.catalogWrites.length, writesBefore);
  assert.equal(s.service.activeCount, 0);
  assert.deepEqual(s.service.pong().recordings, []);
});

test('drain during a finalization: starts are refused, the running one is stopped (shutdown), both finish before it resolves', async () => {
  const s = setup();
  await s.service.start(request('rec_1'));
  await s.service.start(request('rec_2'));
  const finalize = gate();
  s.engine.finalizeGate = finalize.wait;
  const stop = s.service.stop({ recordingId: 'rec_1', reason: 'requested' });
  await settle();
  assert.equal(s.engine.finalized.length, 1, 'rec_1 is finalizing');
  let drained = false;
  const drain = s.service.drain(s.clock.now() + 30_000).then(() => (drained = true));
  await settle();
  assert.equal(s.service.isAccepting, false);
  await assert.rejects(s.service.start(request('rec_3')), { code: 'SHUTTING_DOWN' });
  assert.equal(s.verificationClosed(), 1, 'queued verifications are dropped first');
  assert.deepEqual(typesOf(s.events, 'rec_2'), ['listening', 'stopping'], 'the shutdown stop is announced');
  assert.equal(drained, false, 'not while a file is finalizing');
  finalize.open();
  await drain;
  assert.equal((await stop).reason, 'requested');
  assert.deepEqual(typesOf(s.events, 'rec_1'), ['listening', 'finished']);
  assert.deepEqual(typesOf(s.events, 'rec_2'), ['listening', 'stopping', 'finished']);
  assert.equal(s.storage.closed, 1);
  assert.equal(s.flushed(), 1, 'the last events are flushed before NATS closes');
});

test('drain gives up waiting for a storage step at its deadline', async () => {
  const s = setup();
  await s.service.start(request('rec_1'));
  s.storage.placeGate = new Promise<void>(() => undefined);
  let drained = false;
  const drain = s.service.drain(s.clock.now() + 5000).then(() => (drained = true));
  await settle();
  assert.equal(drained, false);
  await s.clock.advance(5000);
  await drain;
  assert.equal(s.storage.closed, 1);
});

test('close is idempotent: every subscription is dropped once', async () => {
  const s = setup();
  s.service.listen();
  assert.equal(s.subscriptions.length, 5);
  s.service.close();
  s.service.close();
  assert.deepEqual(
    s.subscriptions.map((sub) => sub.unsubscribed),
    [1, 1, 1, 1, 1],
  );
});
