// Continuity with STORAGE=nats (issue 12): two recorders, each with its own recordings folder (as pods with
// their own emptyDir), a publisher in Chromium over WHIP (H264 + Opus → MP4/AAC). The segments of a
// handed-over recording meet in the object store: a draining recorder uploads its segment before it exits;
// a recorder killed with kill -9 and restarted on its folder (a container restart keeps the pod's disk)
// salvages and uploads its segment; the recorder that ends the recording fetches them, joins them, uploads
// the one file and removes the segment objects. The user downloads one file through the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection, type ObjectStore } from 'nats';
import { BUCKETS, type Recording } from '@recstack/contracts';
import { freeTcpPort, launchChromium, startService, startStack, type ServiceProcess, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertHandedOverAfterKill, killRecorder, recorderIdOf, startRecording, stopRecording, untilRecorded, waitForRecording } from './handover-checks.js';
import { assertPlayableRecording } from './recording-checks.js';

let stack: TestStack;
let browser: TestBrowser;
let nc: NatsConnection;
let store: ObjectStore;
let scratch: string;
const dirs: string[] = [];
/** the recorders running now, by id, with the environment each was started with (its own folder) */
const recorders = new Map<string, { process: ServiceProcess; env: Record<string, string> }>();
const extra: ServiceProcess[] = [];

// reconciliation every 2 s: a restarted recorder uploads a left segment soon enough for a 15 s test
const RECORDER_ENV = { RECORDER_RECONCILE_INTERVAL_SECONDS: '2' };

before(async () => {
  stack = await startStack({ env: { STORAGE: 'nats' }, recorderEnv: RECORDER_ENV });
  const first = stack.recorders[0];
  assert.ok(first);
  recorders.set(await recorderIdOf(first), { process: first, env: stack.envFor('recorder', 0) });
  await startRecorder();
  browser = await launchChromium();
  nc = await connect({ servers: stack.nats.url });
  store = await nc.jetstream().views.os(BUCKETS.recordingFiles);
  scratch = await mkdtemp(join(tmpdir(), 'recstack-nats-handover-'));
});

after(async () => {
  await nc?.close();
  await browser?.close();
  for (const p of extra.reverse()) await p.stop().catch(() => undefined);
  await stack?.stop();
  for (const dir of [...dirs, scratch]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** A recorder with its own folder (or `env`'s, for a restart on the same disk). */
async function startRecorder(env?: Record<string, string>): Promise<string> {
  let recorderEnv = env;
  if (!recorderEnv) {
    const dir = await mkdtemp(join(tmpdir(), 'recstack-recorder-own-'));
    dirs.push(dir);
    recorderEnv = { ...stack.envFor('recorder', 0), RECORDINGS_DIR: dir };
  }
  recorderEnv = { ...recorderEnv, OPS_PORT: String(await freeTcpPort()) };
  const process = await startService('recorder', recorderEnv);
  extra.push(process);
  const id = await recorderIdOf(process);
  recorders.set(id, { process, env: recorderEnv });
  return id;
}

function holderOf(recording: Recording): { id: string; process: ServiceProcess; env: Record<string, string> } {
  const id = recording.recorderId ?? '';
  const held = recorders.get(id);
  assert.ok(held, `recorder ${id} holds the recording`);
  return { id, ...held };
}

/** The user's download through the API, its checks, and nothing left behind (segment objects, local files). */
async function assertOneStoredFile(done: Recording): Promise<void> {
  assert.equal(done.storage, 'nats', 'the joined file is in the object store');
  const res = await fetch(`${stack.baseUrl}/api/recordings/${done.id}/media?download=1`);
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(bytes.length, done.sizeBytes);
  const path = join(scratch, done.fileName);
  await writeFile(path, bytes);
  await assertPlayableRecording(path, { video: 'h264', audio: 'aac', durationSec: (done.durationMs ?? 0) / 1000, toleranceSec: 0.5 });
  for (const segment of done.segments ?? []) {
    const info = await store.info(`segments/${segment.file}`);
    assert.ok(info === null || info.deleted, `segment object ${segment.file} removed`);
  }
  // the local copies go after the background verification
  const deadline = Date.now() + 60_000;
  for (;;) {
    const left: string[] = [];
    for (const { env } of recorders.values()) {
      const dir = env.RECORDINGS_DIR ?? '';
      left.push(...(await readdir(dir).catch(() => [])).filter((f) => f.startsWith(done.id)).map((f) => join(dir, f)));
    }
    if (left.length === 0) break;
    assert.ok(Date.now() < deadline, `files left on the recorders' disks: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test(
  'STORAGE=nats, kill -9 of the recorder that records at 5 s of 15 s, restarted on its own disk: one joined file in the object store, one gap of at most 2 s',
  { timeout: 180_000 },
  async () => {
    const { recording, close } = await startRecording(browser, stack.baseUrl, { videoCodec: 'h264' });
    const killed = holderOf(recording);
    await untilRecorded(recording, 5000);
    await killRecorder(killed.process);
    recorders.delete(killed.id);
    // as a container restart does, after media moved the recording (its catalog entry names the next segment)
    await waitForRecording(stack.baseUrl, recording.id, (r) => (r.segments?.length ?? 0) === 2, 'the handover', 15_000);
    const restartedId = await startRecorder(killed.env);
    await untilRecorded(recording, 15_000);
    const done = await stopRecording(stack.baseUrl, recording.id);
    console.log(`nats kill -9: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments, storage: done.storage })}`);
    assertHandedOverAfterKill(done, killed.id, 5000);
    assert.notEqual(done.recorderId, restartedId, 'the recorder that took the recording over ended it');
    const restarted = recorders.get(restartedId)?.process;
    assert.ok(
      restarted?.logs.some((l) => l.msg === 'segment uploaded and verified'),
      'the restarted recorder uploaded the segment its predecessor left',
    );
    await assertOneStoredFile(done);
    await close();
  },
);

test(
  'STORAGE=nats, SIGTERM to the recorder that records (RECORDER_DRAIN=handover, now the default here too): its segment goes through the object store, no gap beyond 1 s',
  { timeout: 180_000 },
  async () => {
    const { recording, close } = await startRecording(browser, stack.baseUrl, { videoCodec: 'h264' });
    const draining = holderOf(recording);
    await untilRecorded(recording, 5000);
    const exit = await draining.process.stop('SIGTERM', 60_000);
    assert.equal(exit.code, 0, 'the drained recorder exits cleanly');
    assert.ok(
      draining.process.logs.some((l) => l.msg === 'segment uploaded and verified'),
      'it put its segment into the object store',
    );
    recorders.delete(draining.id);
    await untilRecorded(recording, 15_000);
    const done = await stopRecording(stack.baseUrl, recording.id);
    console.log(`nats SIGTERM: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments, storage: done.storage })}`);
    assert.equal(done.status, 'done', JSON.stringify(done.error));
    assert.equal(done.stopReason, 'requested', 'the drain did not end the recording');
    assert.equal(done.segments?.length, 2);
    assert.equal(done.segments?.[0]?.recorderId, draining.id);
    for (const g of done.gaps ?? []) assert.ok(g.ms <= 1000, `gap ${JSON.stringify(g)}`);
    // a drain overlaps: both recorders record the moment of the handover (see recorder-handover.e2e.test.ts)
    const wallMs = Date.parse(done.stoppedAt ?? '') - Date.parse(done.startedAt ?? '');
    const gapMs = (done.gaps ?? []).reduce((n, g) => n + g.ms, 0);
    assert.ok(Math.abs((done.durationMs ?? 0) - (wallMs - gapMs)) <= 1000, `duration ${done.durationMs} ms, wall ${wallMs} ms, gaps ${gapMs} ms`);
    await assertOneStoredFile(done);
    await close();
  },
);
