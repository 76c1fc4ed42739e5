import { newRecording } from '@recstack/catalog';
// The relay's state machine on fakes: a recorder client the test answers, an event channel the test speaks
// on, a Streamer that only records where it would send, the real port allocator, and a clock moved by hand.
// Medooze, NATS and recorders are exercised by media-recording.int.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ErrorBody,
  ErrorCode,
  Recording as CatalogRecording,
  RecorderListening,
  RecorderStartRequest,
  RecorderStopRequest,
  RecordingEvent,
  RecordingReport,
} from '@recstack/contracts';
import { RemoteError, TimeoutError, createLogger, errorCodeOf } from '@recstack/service-kit';
import { ManualClock, settle } from '@recstack/testkit';
import { RecorderUnavailableError } from '../errors.js';
import { RecorderNetworks } from '../placement/recorder-networks.js';
import type { ChosenTrack } from '../webrtc/codec-choice.js';
import type { IncomingStreamTrack, Streamer, StreamerSession } from '../webrtc/medooze.js';
import { PortAllocator } from './port-allocator.js';
import type { RecordingEventChannel } from './recording-events.js';
import { RecordingRelay, type CatalogWriter, type RecordingOutcome } from './recording-relay.js';

const RECORDING_ID = 'rec_1';
const SESSION_ID = 'ses_1';
const KEYFRAME_INTERVAL_MS = 500;
const LOST_GRACE_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const AT = '2026-01-01T00:00:05.000Z';

interface Pending<Req, Res> {
  req: Req;
  resolve: (value: Res) => void;
  reject: (err: unknown) => void;
}

/** The recorder side: every start and stop waits until the test answers it. */
class FakeRecorder {
  readonly starts: Array<Pending<RecorderStartRequest, RecorderListening> & { exclude: string | undefined; strict: boolean }> = [];
  readonly stops: Array<Pending<RecorderStopRequest, RecordingReport> & { recorderId: string }> = [];

  start(req: RecorderStartRequest, exclude?: string, strict = true): Promise<RecorderListening> {
    return new Promise((resolve, reject) => this.starts.push({ req, exclude, strict, resolve, reject }));
  }

  stop(recorderId: string, req: RecorderStopRequest): Promise<RecordingReport> {
    return new Promise((resolve, reject) => this.stops.push({ req, recorderId, resolve, reject }));
  }

  /** The n-th start request (from 1), once the relay has made it. */
  async startRequest(n: number): Promise<FakeRecorder['starts'][number]> {
    await settle();
    const s = this.starts[n - 1];
    assert.ok(s, `start request ${n} was made (${this.starts.length} so far)`);
    return s;
  }

  async stopRequest(n: number): Promise<FakeRecorder['stops'][number]> {
    await settle();
    const s = this.stops[n - 1];
    assert.ok(s, `stop request ${n} was made (${this.stops.length} so far)`);
    return s;
  }
}

/** What a recorder answers when it listens on the requested ports. */
const listening = (recorderId: string, req: RecorderStartRequest): RecorderListening => ({
  recordingId: req.recordingId,
  recorderId,
  host: '127.0.0.1',
  ports: req.tracks.map((t) => t.port),
  fileName: `${req.recordingId}-${recorderId}.mkv`,
  engine: 'gstreamer',
});

const report = (recorderId: string): RecordingReport => ({
  recordingId: RECORDING_ID,
  sessionId: SESSION_ID,
  recorderId,
  status: 'done',
  fileName: `${RECORDING_ID}.mkv`,
  sizeBytes: 1000,
  durationMs: 5000,
  container: 'mkv',
  audioCodec: null,
  tracks: [],
  decodesCleanly: true,
  startedAt: '2026-01-01T00:00:00.000Z',
  stoppedAt: '2026-01-01T00:00:05.000Z',
  reason: 'requested',
});

const remote = (code: ErrorCode): RemoteError => new RemoteError({ code, message: code.toLowerCase() }, 'recorder.v1.start');

/** The recording's event subject: the test speaks as the recorder, and sees what media publishes. */
class FakeEvents implements RecordingEventChannel {
  private onEvent: ((event: RecordingEvent) => void) | undefined;
  readonly published: RecordingEvent[] = [];
  closed = false;

  listen(_recordingId: string, onEvent: (event: RecordingEvent) => void): { ready: Promise<void>; close(): void } {
    this.onEvent = onEvent;
    return {
      ready: Promise.resolve(),
      close: () => {
        this.closed = true;
      },
    };
  }

  publish(_recordingId: string, event: RecordingEvent): void {
    this.published.push(event);
  }

  emit(event: RecordingEvent): void {
    assert.ok(this.onEvent, 'the relay listens to its events');
    if (!this.closed) this.onEvent(event);
  }
}

/** Streamers that only note where they would send. */
function fakeStreamers() {
  const made: Array<{ remotes: Array<{ ip: string; port: number }>; stopped: boolean }> = [];
  let localPort = 41_000;
  const create = (): Streamer => {
    const streamer = { remotes: [] as Array<{ ip: string; port: number }>, stopped: false };
    made.push(streamer);
    return {
      createSession: (_media, params) => {
        streamer.remotes.push(params.remote);
        const port = (localPort += 2);
        const session = {
          getLocalPort: () => port,
          getOutgoingStreamTrack: () => ({ attachTo: () => ({}), detach: () => undefined, stop: () => undefined }),
          stop: () => undefined,
        };
        return session as unknown as StreamerSession;
      },
      stop: () => {
        streamer.stopped = true;
      },
    };
  };
  return { made, create };
}

function catalogEntry(): CatalogRecording {
  // as signaling creates it: the media instance of the session is known from the start
  return newRecording({
    id: RECORDING_ID,
    sessionId: SESSION_ID,
    mediaId: 'med_1',
    container: 'mkv',
    audioCodec: null,
    at: new Date('2026-01-01T00:00:00.000Z'),
  });
}

class FakeCatalog implements CatalogWriter {
  entry = catalogEntry();
  async update(id: string, change: (current: CatalogRecording) => CatalogRecording): Promise<CatalogRecording | undefined> {
    if (id !== this.entry.id) return undefined;
    this.entry = change(this.entry);
    return this.entry;
  }
}

const video: ChosenTrack = {
  kind: 'video',
  index: 0,
  mid: '0',
  codec: 'vp8',
  payloadType: 96,
  clockRate: 90000,
  channels: undefined,
  fmtp: undefined,
  rtxPayloadType: 97,
};
const audio: ChosenTrack = {
  kind: 'audio',
  index: 1,
  mid: '1',
  codec: 'opus',
  payloadType: 111,
  clockRate: 48000,
  channels: 2,
  fmtp: 'minptime=10;useinbandfec=1',
  rtxPayloadType: undefined,
};
const incoming = {} as IncomingStreamTrack;

function setup(options: { startAttempts?: number; lostHandoverWaitMs?: number } = {}) {
  const clock = new ManualClock();
  const recorder = new FakeRecorder();
  const events = new FakeEvents();
  const catalog = new FakeCatalog();
  const streamers = fakeStreamers();
  const ports = new PortAllocator({ min: 50_000, max: 50_099, quarantineMs: 60_000, now: () => clock.now() });
  const metrics = { keyframes: 0, retried: [] as string[], firstKeyframe: [] as number[] };
  let keyframeRequests = 0;
  const relay = new RecordingRelay(
    {
      events,
      mediaId: 'med_1',
      recorder,
      recorderNetworks: RecorderNetworks.parse('127.0.0.0/8'),
      ports,
      createStreamer: streamers.create,
      catalog,
      keyframeIntervalMs: KEYFRAME_INTERVAL_MS,
      startAttempts: options.startAttempts ?? 3,
      stopTimeoutMs: STOP_TIMEOUT_MS,
      recorderLostGraceMs: LOST_GRACE_MS,
      ...(options.lostHandoverWaitMs !== undefined ? { lostHandoverWaitMs: options.lostHandoverWaitMs } : {}),
      metrics: {
        keyframeRequested: () => metrics.keyframes++,
        gapKeyframeRequested: () => undefined,
        startRetried: (code) => metrics.retried.push(code),
        firstKeyframe: (ms) => metrics.firstKeyframe.push(ms),
      },
      logger: createLogger('relay-test', 'silent'),
      clock,
    },
    {
      recordingId: RECORDING_ID,
      sessionId: SESSION_ID,
      container: 'mkv',
      audioCodec: 'opus',
      videoHold: () => undefined,
      tracks: [
        { chosen: video, incoming },
        { chosen: audio, incoming },
      ],
      requestKeyframe: () => {
        keyframeRequests++;
        return true;
      },
      receiveStats: async () => [],
    },
  );
  const ended: RecordingOutcome[] = [];
  relay.on('ended', (o) => ended.push(o));
  return { clock, recorder, events, catalog, streamers, ports, metrics, relay, ended, keyframeRequests: () => keyframeRequests };
}

type Setup = ReturnType<typeof setup>;

/** Starts the relay on recorder `recorderId` and returns the start's reply. */
async function startOn(s: Setup, recorderId = 'rcd_a') {
  const started = s.relay.start();
  const req = await s.recorder.startRequest(1);
  req.resolve(listening(recorderId, req.req));
  return started;
}

const codeOf = (o: RecordingOutcome | undefined): string | undefined => (o && !o.ok ? o.error.code : undefined);

test('starts on a recorder, forwards to its ports, asks for keyframes until one is written, and stops with its report', async () => {
  const s = setup();
  const reply = await startOn(s);
  const req = s.recorder.starts[0]?.req;
  assert.ok(req);
  assert.equal(s.relay.currentState, 'active');
  assert.equal(reply.recorderId, 'rcd_a');
  assert.deepEqual(
    reply.tracks.map((t) => t.port),
    req.tracks.map((t) => t.port),
  );
  assert.deepEqual(
    s.streamers.made[0]?.remotes,
    req.tracks.map((t) => ({ ip: '127.0.0.1', port: t.port })),
  );
  assert.equal(s.catalog.entry.recorderId, 'rcd_a');
  assert.equal(s.catalog.entry.mediaId, 'med_1');

  assert.equal(s.keyframeRequests(), 1, 'one keyframe request at once');
  await s.clock.advance(1000);
  assert.equal(s.keyframeRequests(), 3, 'and one every interval');
  s.events.emit({ type: 'first-keyframe', recordingId: RECORDING_ID, recorderId: 'rcd_a', at: new Date(s.clock.now()).toISOString() });
  await s.clock.advance(2000);
  assert.equal(s.keyframeRequests(), 3, 'none once the recorder has written one');
  assert.deepEqual(s.metrics.firstKeyframe, [1000]);

  const stopping = s.relay.stop('requested');
  const stop = await s.recorder.stopRequest(1);
  assert.equal(stop.recorderId, 'rcd_a');
  assert.deepEqual(stop.req, { recordingId: RECORDING_ID, reason: 'requested' });
  assert.equal(s.streamers.made[0]?.stopped, true, 'forwarding stops before the recorder is asked');
  stop.resolve(report('rcd_a'));
  const outcome = await stopping;
  assert.deepEqual(outcome, { ok: true, report: report('rcd_a') });
  assert.deepEqual(s.ended, [outcome]);
  assert.equal(s.ports.inUseCount, 0);
  assert.equal(s.ports.quarantinedCount, 0);
  assert.equal(s.events.closed, true);
  assert.equal(s.clock.pending, 0, 'no timer left behind');
});

test('a stop during the start waits for the recorder, then stops it there without forwarding anything', async () => {
  const s = setup();
  const started = s.relay.start();
  const req = await s.recorder.startRequest(1);
  assert.equal(s.relay.currentState, 'starting');
  const stopping = s.relay.stop('requested');
  req.resolve(listening('rcd_a', req.req));
  await assert.rejects(started, (err) => errorCodeOf(err) === 'CONFLICT');
  const stop = await s.recorder.stopRequest(1);
  assert.equal(stop.recorderId, 'rcd_a');
  stop.resolve(report('rcd_a'));
  assert.deepEqual(await stopping, { ok: true, report: report('rcd_a') });
  assert.equal(s.streamers.made.length, 0, 'no Streamer for a recording stopped while starting');
  assert.equal(s.keyframeRequests(), 0);
  assert.equal(s.ended.length, 1);
  assert.equal(s.ports.inUseCount, 0);
});

test('a stop while the start waits to retry ends it without asking another recorder', async () => {
  const s = setup();
  const started = s.relay.start();
  (await s.recorder.startRequest(1)).reject(remote('AT_CAPACITY'));
  await settle();
  const stopping = s.relay.stop('requested');
  await s.clock.advance(1000);
  await assert.rejects(started, (err) => errorCodeOf(err) === 'CONFLICT');
  const outcome = await stopping;
  assert.equal(codeOf(outcome), 'CONFLICT');
  assert.equal(s.recorder.starts.length, 1, 'no second recorder asked');
  assert.equal(s.recorder.stops.length, 0, 'no recorder holds it');
  assert.deepEqual(s.ended, [outcome]);
  assert.equal(s.ports.inUseCount, 0);
});

test('the late `finished` event answers a stop the recorder no longer knows of', async () => {
  const s = setup();
  await startOn(s);
  const stopping = s.relay.stop('requested');
  (await s.recorder.stopRequest(1)).reject(remote('NO_SUCH_RECORDING'));
  await s.clock.advance(1000);
  assert.equal(s.ended.length, 0, 'the event may take a while');
  s.events.emit({ type: 'finished', recordingId: RECORDING_ID, report: report('rcd_a'), at: AT });
  assert.deepEqual(await stopping, { ok: true, report: report('rcd_a') });
  assert.equal(s.ports.inUseCount, 0);
  assert.equal(s.ports.quarantinedCount, 0);
});

test('without the late event, that stop ends NO_SUCH_RECORDING after 3 s', async () => {
  const s = setup();
  await startOn(s);
  const stopping = s.relay.stop('requested');
  (await s.recorder.stopRequest(1)).reject(remote('NO_SUCH_RECORDING'));
  await s.clock.advance(2999);
  assert.equal(s.ended.length, 0);
  await s.clock.advance(1);
  assert.equal(codeOf(await stopping), 'NO_SUCH_RECORDING');
});

test('a `finished` event while active ends the recording; a later stop gets that outcome without asking the recorder', async () => {
  const s = setup();
  await startOn(s);
  s.events.emit({ type: 'finished', recordingId: RECORDING_ID, report: report('rcd_other'), at: AT });
  assert.equal(s.ended.length, 0, 'another recorder does not speak for the recording');
  s.events.emit({ type: 'finished', recordingId: RECORDING_ID, report: report('rcd_a'), at: AT });
  await settle();
  assert.equal(s.relay.currentState, 'ended');
  assert.equal(s.streamers.made[0]?.stopped, true);
  assert.deepEqual(await s.relay.stop('requested'), { ok: true, report: report('rcd_a') });
  assert.equal(s.recorder.stops.length, 0);
  assert.equal(s.ended.length, 1);
});

test('a recorder lost mid-start: a start nobody answers times out and its ports sit out a quarantine', async () => {
  const s = setup();
  const started = s.relay.start();
  (await s.recorder.startRequest(1)).reject(new TimeoutError('recorder.v1.start timed out'));
  await assert.rejects(started, (err) => errorCodeOf(err) === 'TIMEOUT');
  assert.equal(codeOf(s.ended[0]), 'TIMEOUT');
  assert.equal(s.recorder.starts.length, 1, 'a timeout is not retried: the recorder may be listening');
  assert.equal(s.ports.inUseCount, 0);
  assert.equal(s.ports.quarantinedCount, 2, 'both ports: it may still hold them');
});

test('a recorder lost mid-start: its failed event before forwarding fails the start with its error, nothing is forwarded', async () => {
  const s = setup();
  const started = s.relay.start();
  const req = await s.recorder.startRequest(1);
  const error: ErrorBody = { code: 'RECORDER_FAILED', message: 'the pipeline stopped' };
  s.events.emit({ type: 'failed', recordingId: RECORDING_ID, error, at: AT });
  req.resolve(listening('rcd_a', req.req));
  await assert.rejects(started, (err) => errorCodeOf(err) === 'RECORDER_FAILED');
  assert.deepEqual(s.ended, [{ ok: false, error }]);
  assert.equal(s.streamers.made.length, 0);
  assert.equal(s.recorder.stops.length, 0, 'it already ended the recording');
  assert.equal(s.ports.inUseCount, 0);
});

test('a recorder lost mid-start: no handover before the recording is active; once active it moves to another recorder', async () => {
  const s = setup();
  const started = s.relay.start();
  const first = await s.recorder.startRequest(1);
  assert.equal(await s.relay.handover('lost'), false, 'nothing to hand over while starting');
  s.relay.recorderLost();
  assert.equal(s.relay.currentState, 'starting', 'recorderLost waits for an active recording');
  first.resolve(listening('rcd_a', first.req));
  await started;
  const oldPorts = first.req.tracks.map((t) => t.port);

  const handingOver = s.relay.handover('lost');
  assert.equal(s.relay.isHandingOver, true);
  assert.equal(s.streamers.made[0]?.stopped, true, 'nothing more goes to a lost recorder');
  const second = await s.recorder.startRequest(2);
  assert.equal(second.exclude, 'rcd_a');
  assert.equal(second.req.segment?.index, 1);
  assert.equal(second.req.segment?.previous[0]?.recorderId, 'rcd_a');
  second.resolve(listening('rcd_b', second.req));
  assert.equal(await handingOver, true);
  assert.equal(s.relay.recorderId, 'rcd_b');
  assert.deepEqual(
    s.streamers.made[1]?.remotes.map((r) => r.port),
    second.req.tracks.map((t) => t.port),
  );
  await settle();
  assert.equal(s.catalog.entry.recorderId, 'rcd_b');
  assert.deepEqual(
    s.catalog.entry.segments?.map((x) => x.recorderId),
    ['rcd_a', 'rcd_b'],
  );
  assert.ok(oldPorts.every((p) => !s.ports.isInUse(p)));
  assert.equal(s.ports.quarantinedCount, 2, 'the lost recorder may still hold its ports');

  const stopping = s.relay.stop('requested');
  const stop = await s.recorder.stopRequest(1);
  assert.equal(stop.recorderId, 'rcd_b', 'the recorder holding the last segment joins them');
  stop.resolve(report('rcd_b'));
  assert.equal((await stopping).ok, true);
});

test('a lost recorder no other recorder takes: RECORDER_UNAVAILABLE at once, the catalog failed only after the grace', async () => {
  const s = setup();
  await startOn(s);
  const handingOver = s.relay.handover('lost');
  (await s.recorder.startRequest(2)).reject(new RecorderUnavailableError('no recorder is running'));
  assert.equal(await handingOver, false);
  assert.equal(codeOf(s.ended[0]), 'RECORDER_UNAVAILABLE');
  assert.equal(s.ports.quarantinedCount, 2);
  await s.clock.advance(LOST_GRACE_MS - 1);
  assert.equal(s.catalog.entry.status, 'starting', 'a restarted recorder may still salvage it');
  await s.clock.advance(1);
  assert.equal(s.catalog.entry.status, 'failed');
  assert.equal(s.catalog.entry.error?.code, 'RECORDER_UNAVAILABLE');
});

test('a lost recorder while no recorder runs: the handover asks again; the lost id may take it back only once a fresh process of it says so', async () => {
  const s = setup({ lostHandoverWaitMs: 5000 });
  await startOn(s);
  const handingOver = s.relay.handover('lost');
  const second = await s.recorder.startRequest(2);
  assert.equal(second.exclude, 'rcd_a', 'the lost process may be alive but cut off, still recording');
  assert.equal(second.strict, false, 'a queue-group answer from that id is a live process that does not hold it');
  second.reject(new RecorderUnavailableError('no recorder is running'));
  await settle();
  assert.equal(s.relay.currentState, 'active', 'still waiting for a recorder');
  assert.equal(s.ended.length, 0);
  await s.clock.advance(500);
  const third = await s.recorder.startRequest(3);
  assert.equal(third.exclude, 'rcd_a');
  // the restarted recorder with the same id reports the recording lost (recorder.v1.lost)
  s.relay.allowReturn('rcd_a');
  third.reject(new RecorderUnavailableError('no recorder is running'));
  await s.clock.advance(500);
  const fourth = await s.recorder.startRequest(4);
  assert.equal(fourth.exclude, undefined, 'the fresh process of the lost id may take it back');
  assert.equal(fourth.req.segment?.index, 1, 'a new segment: the dead process wrote the first');
  fourth.resolve(listening('rcd_a', fourth.req));
  assert.equal(await handingOver, true);
  assert.equal(s.relay.recorderId, 'rcd_a');
  assert.equal(s.relay.segmentFile, `${RECORDING_ID}-rcd_a.mkv`);
  await settle();
  assert.deepEqual(
    s.catalog.entry.segments?.map((x) => x.recorderId),
    ['rcd_a', 'rcd_a'],
  );
  assert.equal(s.ended.length, 0);
});

test('a lost recorder nobody takes within the wait: RECORDER_UNAVAILABLE; a stop during the wait ends the asking', async () => {
  const s = setup({ lostHandoverWaitMs: 1000 });
  await startOn(s);
  const handingOver = s.relay.handover('lost');
  for (let n = 2; n <= 4; n++) {
    (await s.recorder.startRequest(n)).reject(new RecorderUnavailableError('no recorder is running'));
    await s.clock.advance(500);
  }
  assert.equal(await handingOver, false);
  assert.equal(s.recorder.starts.length, 4, 'no start after the wait');
  assert.equal(codeOf(s.ended[0]), 'RECORDER_UNAVAILABLE');

  const t = setup({ lostHandoverWaitMs: 60_000 });
  await startOn(t);
  const moving = t.relay.handover('lost');
  (await t.recorder.startRequest(2)).reject(new RecorderUnavailableError('no recorder is running'));
  await settle();
  const stopping = t.relay.stop('requested');
  await t.clock.advance(500);
  assert.equal(await moving, false);
  assert.equal(t.recorder.starts.length, 2, 'the stop ended the asking');
  assert.equal(codeOf(await stopping), 'RECORDER_UNAVAILABLE');
});

test('a drain never goes back to the draining recorder, nor waits for one', async () => {
  const s = setup({ lostHandoverWaitMs: 5000 });
  await startOn(s);
  s.relay.allowReturn('rcd_a');
  const handingOver = s.relay.handover('drain');
  const second = await s.recorder.startRequest(2);
  assert.equal(second.exclude, 'rcd_a');
  assert.equal(second.strict, true);
  second.reject(new RecorderUnavailableError('no recorder is running'));
  assert.equal(await handingOver, false, 'no waiting: the draining recorder finishes it');
  assert.equal(s.relay.currentState, 'active');
});

test('PORT_IN_USE: the ports sit out a quarantine and the start is retried at once with others', async () => {
  const s = setup();
  const started = s.relay.start();
  const first = await s.recorder.startRequest(1);
  first.reject(remote('PORT_IN_USE'));
  const second = await s.recorder.startRequest(2);
  const firstPorts = first.req.tracks.map((t) => t.port);
  const secondPorts = second.req.tracks.map((t) => t.port);
  assert.ok(
    secondPorts.every((p) => !firstPorts.includes(p)),
    'other ports',
  );
  second.resolve(listening('rcd_a', second.req));
  const reply = await started;
  assert.deepEqual(
    reply.tracks.map((t) => t.port),
    secondPorts,
  );
  assert.deepEqual(s.metrics.retried, ['PORT_IN_USE']);
  assert.equal(s.ports.quarantinedCount, 2);
  assert.equal(s.ports.inUseCount, 2, 'only the ports the recorder listens on');
});

test('AT_CAPACITY: the ports go back and, after a backoff, the start goes to another recorder', async () => {
  const s = setup();
  const started = s.relay.start();
  (await s.recorder.startRequest(1)).reject(remote('AT_CAPACITY'));
  await s.clock.advance(149);
  assert.equal(s.recorder.starts.length, 1, 'waits before asking again');
  assert.equal(s.ports.inUseCount, 0, 'the refused ports are back');
  await s.clock.advance(1);
  const second = await s.recorder.startRequest(2);
  second.resolve(listening('rcd_b', second.req));
  const reply = await started;
  assert.equal(reply.recorderId, 'rcd_b');
  assert.deepEqual(s.metrics.retried, ['AT_CAPACITY']);
  assert.equal(s.ports.quarantinedCount, 0);
});

test('AT_CAPACITY from every recorder: the start fails AT_CAPACITY after the configured attempts', async () => {
  const s = setup({ startAttempts: 3 });
  const failed = assert.rejects(s.relay.start(), (err) => errorCodeOf(err) === 'AT_CAPACITY' && /after 3 attempts/.test((err as Error).message));
  for (let n = 1; n <= 3; n++) {
    (await s.recorder.startRequest(n)).reject(remote('AT_CAPACITY'));
    await s.clock.advance(150 * n);
  }
  await failed;
  assert.equal(s.recorder.starts.length, 3);
  assert.deepEqual(s.metrics.retried, ['AT_CAPACITY', 'AT_CAPACITY']);
  assert.equal(codeOf(s.ended[0]), 'AT_CAPACITY');
  assert.equal(s.ports.inUseCount, 0);
  assert.equal(s.ports.quarantinedCount, 0);
});

test('stop is idempotent: one request to the recorder, one end, the same outcome for every caller', async () => {
  const s = setup();
  await startOn(s);
  const a = s.relay.stop('requested');
  const b = s.relay.stop('publisher-left', { initiatedByMedia: true });
  assert.equal(a, b);
  (await s.recorder.stopRequest(1)).resolve(report('rcd_a'));
  const outcome = await a;
  assert.deepEqual(await s.relay.stop('requested'), outcome);
  assert.equal(s.recorder.stops.length, 1);
  assert.equal(s.ended.length, 1);
  assert.deepEqual(s.events.published, [], 'only the first stop decides: not one media initiated');
  s.relay.recorderLost();
  assert.equal(await s.relay.handover('lost'), false);
  assert.equal(s.ended.length, 1, 'nothing ends an ended recording again');
});

test('a stop media decides says so: the catalog entry is stopping and a `stopping` event goes out', async () => {
  const s = setup();
  await startOn(s);
  const stopping = s.relay.stop('publisher-left', { initiatedByMedia: true });
  const stop = await s.recorder.stopRequest(1);
  assert.equal(s.catalog.entry.status, 'stopping');
  assert.deepEqual(
    s.events.published.map((e) => e.type),
    ['stopping'],
  );
  assert.equal(stop.req.reason, 'publisher-left');
  stop.resolve(report('rcd_a'));
  assert.equal((await stopping).ok, true);
});

test('a draining recorder keeps the RTP until the next one listens, finishes its segment, and a stop meanwhile waits for that', async () => {
  const s = setup();
  await startOn(s);
  const handingOver = s.relay.handover('drain');
  const next = await s.recorder.startRequest(2);
  assert.equal(next.exclude, 'rcd_a');
  assert.equal(s.streamers.made[0]?.stopped, false, 'the draining recorder still records');
  next.resolve(listening('rcd_b', next.req));
  const segmentEnd = await s.recorder.stopRequest(1);
  assert.equal(segmentEnd.recorderId, 'rcd_a');
  assert.deepEqual(segmentEnd.req, { recordingId: RECORDING_ID, reason: 'shutdown', handover: true });
  assert.equal(s.streamers.made[0]?.stopped, true);
  assert.equal(s.streamers.made.length, 2);

  const stopping = s.relay.stop('requested');
  await settle();
  assert.equal(s.recorder.stops.length, 1, 'the stop waits until the draining recorder has finished its file');
  segmentEnd.resolve(report('rcd_a'));
  assert.equal(await handingOver, true);
  const stop = await s.recorder.stopRequest(2);
  assert.equal(stop.recorderId, 'rcd_b');
  stop.resolve(report('rcd_b'));
  assert.equal((await stopping).ok, true);
  assert.equal(s.ports.inUseCount, 0);
  assert.equal(s.ports.quarantinedCount, 0, 'a drained recorder let go of its ports');
});
