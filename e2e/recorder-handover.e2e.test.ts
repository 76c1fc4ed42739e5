// Continuity (issue 12): a recording survives losing its recorder (kill -9 of the recorder and its GStreamer
// child, or SIGTERM with RECORDER_DRAIN=handover) and a NATS restart. Two recorders, real nats-server and
// services, a publisher in Chromium over WHIP (H264 + Opus, recorded to MP4 with AAC, the default).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordingSchema, isTerminal, type Recording } from '@recstack/contracts';
import {
  decodeErrors,
  freeTcpPort,
  launchChromium,
  probe,
  publishWhip,
  startService,
  startStack,
  type ServiceProcess,
  type TestBrowser,
  type TestStack,
} from '@recstack/testkit';

let stack: TestStack;
let browser: TestBrowser;
/** the recorders running now, by id (those the stack started, and replacements) */
const recorders = new Map<string, ServiceProcess>();
const replacements: ServiceProcess[] = [];

before(async () => {
  stack = await startStack({ recorders: 2 });
  for (const r of stack.recorders) recorders.set(await recorderIdOf(r), r);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const p of replacements.reverse()) await p.stop().catch(() => undefined);
  await stack?.stop();
});

async function recorderIdOf(p: ServiceProcess): Promise<string> {
  const ready = await p.waitForLog((l) => l.msg === 'service ready', 30_000);
  const id = (ready as { recorderId?: unknown }).recorderId;
  assert.equal(typeof id, 'string', 'the recorder names itself in its log lines');
  return id as string;
}

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function get(id: string): Promise<Recording | undefined> {
  const res = await api(`/api/recordings/${id}`).catch(() => undefined);
  return res?.status === 200 ? RecordingSchema.parse(res.body) : undefined;
}

async function waitFor(id: string, match: (r: Recording) => boolean, what: string, timeoutMs: number): Promise<Recording> {
  const deadline = Date.now() + timeoutMs;
  let last: Recording | undefined;
  for (;;) {
    last = (await get(id)) ?? last;
    if (last && match(last)) return last;
    if (Date.now() > deadline) throw new Error(`recording ${id}: timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

/** A WHIP publisher and its recording, once it has reached `recording` (its first keyframe is written). */
async function startRecording(): Promise<{ recording: Recording; close: () => Promise<void> }> {
  const page = await browser.context.newPage();
  await page.goto(`${stack.baseUrl}/healthz`);
  const { sessionId } = await publishWhip(page, { videoCodec: 'h264' });
  const res = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const started = RecordingSchema.parse(res.body);
  const recording = await waitFor(started.id, (r) => r.status === 'recording' && r.startedAt !== null, 'the first keyframe', 30_000);
  return { recording, close: () => page.close() };
}

/** Sleeps until `ms` after the recording's first keyframe. */
async function untilRecorded(recording: Recording, ms: number): Promise<void> {
  await sleep(Math.max(0, Date.parse(recording.startedAt ?? '') + ms - Date.now()));
}

async function stopRecording(id: string): Promise<Recording> {
  const res = await api(`/api/recordings/${id}/stop`, { method: 'POST' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return waitFor(id, (r) => isTerminal(r.status), 'the recording to end', 60_000);
}

/** Every process under `pid` (the recorder's GStreamer children), from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // the command may hold spaces and parentheses: the parent pid is the second field after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function holder(recording: Recording): { id: string; process: ServiceProcess } {
  const id = recording.recorderId ?? '';
  const process = recorders.get(id);
  assert.ok(process, `recorder ${id} holds the recording`);
  return { id, process };
}

/** A replacement for a recorder that went away, so the next test again has two. */
async function replaceRecorder(): Promise<void> {
  const next = await startService('recorder', { ...stack.envFor('recorder', 0), OPS_PORT: String(await freeTcpPort()) });
  replacements.push(next);
  recorders.set(await recorderIdOf(next), next);
}

/** The file's checks: one file, a clean full decode, and the duration the recording object states. */
async function assertJoinedFile(done: Recording): Promise<number> {
  const path = join(stack.recordingsDir, done.fileName);
  const probed = await probe(path);
  assert.equal(probed.streams.filter((s) => s.codec_type === 'video')[0]?.codec_name, 'h264');
  assert.equal(probed.streams.filter((s) => s.codec_type === 'audio')[0]?.codec_name, 'aac');
  assert.ok(Math.abs(probed.durationSec * 1000 - (done.durationMs ?? 0)) <= 500, `file ${probed.durationSec} s, recording object ${done.durationMs} ms`);
  assert.equal(await decodeErrors(path), '', 'a full decode prints no error');
  const left = (await readdir(stack.recordingsDir)).filter((f) => f.startsWith(done.id) && f !== done.fileName);
  assert.deepEqual(left, [], 'the segment files are gone once joined');
  return probed.durationSec * 1000;
}

/** wall time from the first keyframe to the stop, less the declared gaps, is what the file holds (± 0.5 s) */
function assertDurationMatchesWallTime(done: Recording, toleranceMs = 500): void {
  const wallMs = Date.parse(done.stoppedAt ?? '') - Date.parse(done.startedAt ?? '');
  const gapMs = (done.gaps ?? []).reduce((n, g) => n + g.ms, 0);
  assert.ok(Math.abs((done.durationMs ?? 0) - (wallMs - gapMs)) <= toleranceMs, `duration ${done.durationMs} ms, wall ${wallMs} ms, gaps ${gapMs} ms`);
}

test(
  'kill -9 of the recorder that records (and its GStreamer child) at 5 s of 15 s: one file, done, one gap of at most 2 s',
  { timeout: 180_000 },
  async () => {
    const { recording, close } = await startRecording();
    const killed = holder(recording);
    await untilRecorded(recording, 5000);
    const pid = killed.process.child.pid ?? 0;
    const children = await descendants(pid);
    assert.ok(children.length > 0, 'the recorder runs a GStreamer child');
    for (const p of [pid, ...children]) process.kill(p, 'SIGKILL');
    recorders.delete(killed.id);
    await untilRecorded(recording, 15_000);
    const done = await stopRecording(recording.id);
    console.log(`kill -9: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments })}`);
    assert.equal(done.status, 'done', JSON.stringify(done.error));
    assert.equal(done.stopReason, 'requested');
    assert.notEqual(done.recorderId, killed.id, 'another recorder finished it');
    assert.equal(done.segments?.length, 2, 'two segments');
    assert.equal(done.segments?.[0]?.recorderId, killed.id, "the dead recorder's salvaged file is the first segment");
    assert.equal(done.gaps?.length, 1, 'one declared gap');
    const gap = done.gaps?.[0];
    assert.ok(gap && gap.ms > 0 && gap.ms <= 2000, `gap ${JSON.stringify(gap)}`);
    assert.ok(gap.atMs >= 3500 && gap.atMs <= 5500, `the gap is where the kill was: ${gap.atMs} ms`);
    assertDurationMatchesWallTime(done);
    await assertJoinedFile(done);
    await close();
    await replaceRecorder();
  },
);

test('SIGTERM to the recorder that records (RECORDER_DRAIN=handover, the default): it hands over, no gap beyond 1 s', { timeout: 180_000 }, async () => {
  const { recording, close } = await startRecording();
  const draining = holder(recording);
  await untilRecorded(recording, 5000);
  const exited = draining.process.stop('SIGTERM', 60_000);
  await draining.process.waitForLog((l) => l.msg === 'draining: recordings handed over to other recorders', 10_000);
  const exit = await exited;
  assert.equal(exit.code, 0, 'the drained recorder exits cleanly');
  assert.ok(
    draining.process.logs.some((l) => l.msg === 'segment handed over'),
    'it finished its segment for the handover',
  );
  recorders.delete(draining.id);
  await untilRecorded(recording, 15_000);
  const done = await stopRecording(recording.id);
  console.log(`SIGTERM: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments })}`);
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(done.stopReason, 'requested', 'the drain did not end the recording');
  assert.equal(done.segments?.length, 2);
  for (const g of done.gaps ?? []) assert.ok(g.ms <= 1000, `gap ${JSON.stringify(g)}`);
  // a drain overlaps: both recorders record the moment of the handover, so up to a few hundred ms (measured
  // 0.1-0.2 s, on top of the audio each segment holds before its first keyframe) appear twice
  assertDurationMatchesWallTime(done, 1000);
  await assertJoinedFile(done);
  await close();
  await replaceRecorder();
});

test('NATS killed at 5 s and started 8 s later: the recording ends done, full length, on its one recorder', { timeout: 180_000 }, async () => {
  const { recording, close } = await startRecording();
  await untilRecorded(recording, 5000);
  // 8 s: longer than two recorder checks, so a media that took its own disconnection for the recorder's would hand over or fail it
  await stack.nats.kill(true);
  await sleep(8000);
  await stack.nats.start();
  await untilRecorded(recording, 20_000);
  const done = await stopRecording(recording.id);
  console.log(`NATS restart: ${JSON.stringify({ durationMs: done.durationMs, gaps: done.gaps, segments: done.segments, error: done.error })}`);
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(done.stopReason, 'requested');
  assert.equal(done.segments, undefined, 'no handover: the recorder was never taken for lost');
  assert.equal(done.recorderId, recording.recorderId);
  const wallMs = Date.parse(done.stoppedAt ?? '') - Date.parse(done.startedAt ?? '');
  assert.ok(Math.abs((done.durationMs ?? 0) - wallMs) <= 500, `full length: ${done.durationMs} ms of ${wallMs} ms`);
  const path = join(stack.recordingsDir, done.fileName);
  assert.equal(await decodeErrors(path), '');
  await close();
});
