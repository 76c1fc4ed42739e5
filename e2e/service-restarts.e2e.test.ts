// Restart signaling, media or the recorder in the middle of a recording: GET /api/recordings keeps listing
// every recording with the right status, and each recording ends with a playable file, never stuck.
// Real nats-server and services, publishers in Chromium over WHIP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RecordingSchema, isTerminal, type Recording } from '@recstack/contracts';
import {
  launchChromium,
  publishWhip,
  startService,
  startStack,
  type ServiceName,
  type ServiceProcess,
  type TestBrowser,
  type TestStack,
} from '@recstack/testkit';
import { assertPlayableRecording } from './recording-checks.js';

let stack: TestStack;
let browser: TestBrowser;
/** the processes that replaced restarted services (the stack only stops the ones it started) */
const replacements: ServiceProcess[] = [];
const current: Partial<Record<ServiceName, ServiceProcess>> = {};

before(async () => {
  stack = await startStack({
    // media stops feeding a recorder whose RTP stops arriving after this many seconds of silence
    recorderEnv: { RECORDER_RTP_TIMEOUT: '4', RECORDER_RECONCILE_INTERVAL_SECONDS: '5' },
  });
  current.signaling = stack.signaling;
  current.media = stack.media;
  current.recorder = stack.recorders[0];
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of replacements.reverse()) await p.stop();
  await stack?.stop();
});

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function list(): Promise<Recording[]> {
  const { status, body } = await api('/api/recordings');
  assert.equal(status, 200);
  return (body as unknown[]).map((r) => RecordingSchema.parse(r));
}

async function waitFor(id: string, match: (r: Recording) => boolean, what: string, timeoutMs: number): Promise<Recording> {
  const deadline = Date.now() + timeoutMs;
  let last: Recording | undefined;
  for (;;) {
    last = (await list().catch(() => [])).find((r) => r.id === id) ?? last;
    if (last && match(last)) return last;
    if (Date.now() > deadline) throw new Error(`recording ${id}: timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A WHIP publisher in a Chromium page and a recording of it that has reached `recording`. */
async function startRecording(): Promise<{ recording: Recording; close: () => Promise<void> }> {
  const page = await browser.context.newPage();
  await page.goto(`${stack.baseUrl}/healthz`);
  const { sessionId } = await publishWhip(page, { videoCodec: 'h264' });
  const res = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const started = RecordingSchema.parse(res.body);
  const recording = await waitFor(started.id, (r) => r.status === 'recording', 'the first keyframe', 30_000);
  return { recording, close: () => page.close() };
}

async function restart(name: ServiceName, signal: NodeJS.Signals): Promise<void> {
  await current[name]?.stop(signal);
  const next = await startService(name, stack.envFor(name));
  replacements.push(next);
  current[name] = next;
}

/** Every recording the earlier tests made is still listed, finished. */
async function assertEarlierStillListed(ids: string[]): Promise<void> {
  const all = await list();
  for (const id of ids) {
    const r = all.find((x) => x.id === id);
    assert.ok(r, `${id} is still listed`);
    assert.ok(isTerminal(r.status), `${id} is ${r.status}`);
  }
}

const finished: string[] = [];

test('signaling killed and restarted mid-recording: the list still shows it recording, and the new signaling stops it', { timeout: 180_000 }, async () => {
  const { recording, close } = await startRecording();
  await new Promise((r) => setTimeout(r, 3000));
  await restart('signaling', 'SIGKILL');
  const listed = (await list()).find((r) => r.id === recording.id);
  assert.equal(listed?.status, 'recording', 'the catalog outlives signaling');
  await new Promise((r) => setTimeout(r, 3000));
  const res = await api(`/api/recordings/${recording.id}/stop`, { method: 'POST' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const done = RecordingSchema.parse(res.body);
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(done.stopReason, 'requested');
  await assertPlayableRecording(join(stack.recordingsDir, done.fileName), {
    video: 'h264',
    audio: 'aac',
    durationSec: (done.durationMs ?? 0) / 1000,
    toleranceSec: 0.5,
  });
  assert.ok((done.durationMs ?? 0) >= 5000, `recorded across the restart: ${done.durationMs} ms`);
  finished.push(done.id);
  await close();
});

test('media killed and restarted mid-recording: the recorder ends it on RTP timeout, done, with the file up to the kill', { timeout: 180_000 }, async () => {
  const { recording, close } = await startRecording();
  await new Promise((r) => setTimeout(r, 4000));
  const killedAt = Date.now();
  await restart('media', 'SIGKILL');
  const ended = await waitFor(recording.id, (r) => isTerminal(r.status), 'the recording to end', 60_000);
  assert.equal(ended.status, 'done', JSON.stringify(ended.error));
  assert.equal(ended.stopReason, 'rtp-timeout');
  const recordedSec = (killedAt - Date.parse(ended.startedAt ?? '')) / 1000;
  await assertPlayableRecording(join(stack.recordingsDir, ended.fileName), { video: 'h264', audio: 'aac', durationSec: recordedSec, toleranceSec: 1.5 });
  await assertEarlierStillListed(finished);
  finished.push(ended.id);
  await close();
});

test(
  'recorder killed and restarted mid-recording: the recording is handed over to the new recorder, or (when it is not up in time) salvaged by it; either way done and playable',
  { timeout: 180_000 },
  async () => {
    const { recording, close } = await startRecording();
    await new Promise((r) => setTimeout(r, 4000));
    const killedAt = Date.now();
    await restart('recorder', 'SIGKILL');
    // media hands the recording over once the recorder missed two checks (about 1.3 s); only a successor that is
    // already up can take it (this stack has one recorder), otherwise the recording ends and the successor salvages it
    const moved = await waitFor(recording.id, (r) => isTerminal(r.status) || (r.segments?.length ?? 0) >= 2, 'a handover or the recording to end', 60_000);
    const handedOver = !isTerminal(moved.status);
    if (handedOver) {
      await new Promise((r) => setTimeout(r, 3000));
      const res = await api(`/api/recordings/${recording.id}/stop`, { method: 'POST' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const ended = await waitFor(recording.id, (r) => isTerminal(r.status), 'the recording to end', 60_000);
    console.log(
      `recording ${ended.status} ${Date.now() - killedAt} ms after its recorder was killed (${ended.durationMs} ms recorded, ${handedOver ? 'handed over' : 'salvaged'})`,
    );
    assert.equal(ended.status, 'done', JSON.stringify(ended.error));
    assert.notEqual(ended.recorderId, recording.recorderId, 'finalized by the successor');
    if (handedOver) {
      assert.equal(ended.stopReason, 'requested', 'the recording went on until it was stopped');
      assert.equal(ended.segments?.length, 2);
      assert.equal(ended.segments?.[0]?.recorderId, recording.recorderId, "the killed recorder's file is the first segment");
    } else {
      assert.equal(ended.stopReason, 'error', 'it ended because its recorder died');
    }
    // the orphan kept recording until the successor stopped it (salvage), or the successor recorded on (handover)
    assert.ok((ended.durationMs ?? 0) >= 4000, `duration ${ended.durationMs} ms`);
    await assertPlayableRecording(join(stack.recordingsDir, ended.fileName), {
      video: 'h264',
      audio: 'aac',
      durationSec: (ended.durationMs ?? 0) / 1000,
      toleranceSec: 0.5,
    });
    await assertEarlierStillListed(finished);
    finished.push(ended.id);
    await close();

    // and the restarted stack records again
    const next = await startRecording();
    await new Promise((r) => setTimeout(r, 3000));
    const res = await api(`/api/recordings/${next.recording.id}/stop`, { method: 'POST' });
    assert.equal(RecordingSchema.parse(res.body).status, 'done');
    await next.close();
    await assertEarlierStillListed([...finished, next.recording.id]);
  },
);
