import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@recstack/service-kit';
import type { StopReason } from '@recstack/contracts';
import { RecordingJob, type RecordingJobSettings } from './recording-job.js';
import { planRecording, type RecordingPlan } from './recording-plan.js';
import { FakeClock, settle } from './testing/fake-clock.js';
import { fakeEngine, type FakeEngine } from './testing/fake-engine.js';

// The job's state logic with a fake child and a fake clock: no process, no GStreamer, no waiting.

const logger = createLogger('recording-job-test', 'silent');

const settings: RecordingJobSettings = {
  recorderId: 'rcd_test',
  engine: { gstLaunch: 'gst-launch-1.0', ffmpeg: 'ffmpeg', jitterLatencyMs: 200, rtpTimeoutMs: 10_000 },
  tools: { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' },
  stopTimeoutMs: 10_000,
  rtpTimeoutMs: 10_000,
  listenTimeoutMs: 10_000,
  verify: true,
  childNice: 5,
};

function plan(id = 'rec_1', maxDurationMs = 60_000): RecordingPlan {
  return planRecording(
    {
      recordingId: id,
      sessionId: 'ses_1',
      container: 'mp4',
      audioCodec: 'aac',
      tracks: [
        { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000 },
        { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, port: 50002 },
      ],
    },
    { engine: 'gstreamer', recordingsDir: '/recordings', bindAddress: '127.0.0.1', maxDurationMs },
  );
}

interface Setup {
  job: RecordingJob;
  clock: FakeClock;
  engine: FakeEngine;
  stopping: Array<{ reason: StopReason; selfInitiated: boolean }>;
  finished: number;
}

function setup(p = plan()): Setup {
  const clock = new FakeClock();
  const engine = fakeEngine();
  const job = new RecordingJob(p, settings, logger, { ...engine.deps, clock });
  const s: Setup = { job, clock, engine, stopping: [], finished: 0 };
  job.on('stopping', (reason, selfInitiated) => s.stopping.push({ reason, selfInitiated }));
  job.on('finished', () => s.finished++);
  return s;
}

async function listening(s: Setup): Promise<void> {
  const started = s.job.start();
  await settle();
  s.engine.child('rec_1').say({ type: 'listening' });
  await started;
}

test('start resolves once the child listens; the child got its input', async () => {
  const s = setup();
  let resolved = false;
  const started = s.job.start().then(() => (resolved = true));
  await settle();
  assert.equal(s.job.phase, 'starting');
  assert.equal(resolved, false);
  const child = s.engine.child('rec_1');
  assert.equal(child.input, 'input');
  assert.equal(child.loweredBy, undefined, 'the start runs at full priority');
  child.say({ type: 'listening' });
  await started;
  assert.equal(s.job.phase, 'recording');
  assert.equal(child.loweredBy, 5, 'recording below media (RECORDER_CHILD_NICE)');
});

test('a stop asked during the start waits for it, then ends the child and reports once', async () => {
  const s = setup();
  const started = s.job.start();
  await settle();
  const stopped = s.job.stop('requested');
  await settle();
  assert.equal(s.stopping.length, 0, 'nothing stops before the start is through');
  assert.equal(s.engine.child('rec_1').ladders.length, 0);
  s.engine.child('rec_1').say({ type: 'listening' });
  await started;
  const report = await stopped;
  assert.equal(report.status, 'done');
  assert.equal(report.reason, 'requested');
  assert.deepEqual(s.stopping, [{ reason: 'requested', selfInitiated: false }]);
  assert.equal(s.engine.child('rec_1').ladders.length, 1);
  assert.equal(s.engine.child('rec_1').ladders[0]?.[0]?.action, 'SIGINT', 'EOS first');
  assert.equal(s.engine.finalized[0]?.endedCleanly, true, 'the EOS reached the file');
  assert.equal(s.finished, 1);
});

test('a stop asked during a start that fails rejects: nothing ran, nothing is reported', async () => {
  const s = setup();
  const started = s.job.start();
  await settle();
  const stopped = s.job.stop('requested');
  s.engine.child('rec_1').say({ type: 'port-in-use', port: 50002 });
  s.engine.child('rec_1').exit({ code: 1, signal: null, unexpected: true });
  await assert.rejects(started, { code: 'PORT_IN_USE' });
  await assert.rejects(stopped, { code: 'RECORDER_FAILED' });
  assert.equal(s.finished, 0);
  assert.equal(s.engine.finalized.length, 0);
  assert.deepEqual(s.engine.removed, [s.job.plan.writePath], 'a start that failed leaves no file');
});

test('a taken port is refused before anything is spawned', async () => {
  const s = setup();
  s.engine.takenPorts = [50000];
  await assert.rejects(s.job.start(), (err: Error & { code?: string; ports?: number[] }) => err.code === 'PORT_IN_USE' && err.ports?.[0] === 50000);
  assert.equal(s.engine.children.length, 0);
  assert.equal(s.job.phase, 'finished');
});

test('a child that does not listen in time is killed and the start fails', async () => {
  const s = setup();
  const started = s.job.start();
  const outcome = started.then(
    () => 'resolved',
    (err: Error & { code?: string }) => err.code,
  );
  await settle();
  await s.clock.advance(settings.listenTimeoutMs);
  const child = s.engine.child('rec_1');
  assert.equal(child.ladders[0]?.[0]?.action, 'SIGKILL');
  child.exit({ code: null, signal: 'SIGKILL', unexpected: false });
  assert.equal(await outcome, 'RECORDER_FAILED');
});

test('a child that crashes mid-recording is an event: stopping (error, self-initiated), then finished with the salvaged file', async () => {
  const s = setup();
  await listening(s);
  const finished = new Promise((resolve) => s.job.once('finished', resolve));
  s.engine.child('rec_1').exit({ code: null, signal: 'SIGSEGV', unexpected: true });
  await finished;
  assert.deepEqual(s.stopping, [{ reason: 'error', selfInitiated: true }]);
  assert.equal(s.engine.child('rec_1').ladders.length, 0, 'a child that is gone is not stopped');
  assert.equal(s.engine.finalized[0]?.endedCleanly, false, 'no EOS: the file is salvaged');
  assert.equal(s.job.report?.reason, 'error');
  const late = await s.job.stop('requested');
  assert.equal(late.reason, 'error', 'a stop after the crash gets the same report');
  assert.equal(s.finished, 1);
});

test('stop is idempotent: every caller gets the same report, the child is stopped and finalized once', async () => {
  const s = setup();
  await listening(s);
  const [a, b] = await Promise.all([s.job.stop('requested'), s.job.stop('publisher-left')]);
  const c = await s.job.stop('requested');
  assert.equal(a, b);
  assert.equal(a, c);
  assert.equal(a.reason, 'requested');
  assert.equal(s.engine.child('rec_1').ladders.length, 1);
  assert.equal(s.engine.finalized.length, 1);
  assert.equal(s.finished, 1);
});

test('the first keyframe counts once the file has bytes (polled on the clock)', async () => {
  const s = setup();
  await listening(s);
  const keyframes: Date[] = [];
  s.job.on('first-keyframe', (at) => keyframes.push(at));
  s.engine.child('rec_1').say({ type: 'keyframe', track: 'video' });
  await s.clock.advance(200);
  assert.equal(keyframes.length, 0, 'the muxer has not started the file');
  s.engine.written.set(s.job.plan.writePath, 1024);
  await s.clock.advance(50);
  assert.equal(keyframes.length, 1);
  assert.equal(keyframes[0]?.getTime(), s.clock.now());
  const report = await s.job.stop('requested');
  assert.equal(report.startedAt, keyframes[0]?.toISOString());
});

test('RTP silent on every track for the timeout ends the recording on its own (rtp-timeout)', async () => {
  const s = setup();
  await listening(s);
  const child = s.engine.child('rec_1');
  // each silent socket reports every second (IDLE_PROBE_MS)
  for (let second = 1; second <= 9; second++) {
    await s.clock.advance(1000);
    child.say({ type: 'rtp-idle', track: 'video' });
    child.say({ type: 'rtp-idle', track: 'audio' });
  }
  await settle();
  assert.equal(s.stopping.length, 0, '9 s of silence (plus the first report) is under the timeout');
  await s.clock.advance(1000);
  child.say({ type: 'rtp-idle', track: 'video' });
  child.say({ type: 'rtp-idle', track: 'audio' });
  await settle();
  assert.deepEqual(s.stopping, [{ reason: 'rtp-timeout', selfInitiated: true }]);
});

test('the maximum duration ends the recording on its own; a stop before it cancels the timer', async () => {
  const s = setup(plan('rec_1', 5000));
  await listening(s);
  await s.clock.advance(4999);
  assert.equal(s.stopping.length, 0);
  await s.clock.advance(1);
  await settle();
  assert.deepEqual(s.stopping, [{ reason: 'max-duration', selfInitiated: true }]);

  const other = setup(plan('rec_1', 5000));
  await listening(other);
  await other.job.stop('requested');
  assert.equal(other.clock.pendingTimers, 0, 'no timer is left behind');
});

test('a stop with a deadline shortens the stop steps to fit it', async () => {
  const s = setup();
  await listening(s);
  await s.job.stop('shutdown', { deadline: s.clock.now() + 4000 });
  const ladder = s.engine.child('rec_1').ladders[0];
  assert.equal(ladder?.[0]?.waitMs, 1400, '35 % of the 4 s left instead of the 10 s step');
  assert.ok((s.engine.finalized[0]?.budgetMs ?? Infinity) <= 2000, 'the finalize budget is half of what is left');
});
