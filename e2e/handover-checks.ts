// What the handover e2e tests share: a WHIP publisher's recording through the API, the kill -9 of the
// recorder that holds it (and its children), and the checks of the one file the user gets.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { RecordingSchema, isTerminal, type Container, type Recording } from '@recstack/contracts';
import { publishWhip, type ServiceProcess, type TestBrowser } from '@recstack/testkit';
import { setTimeout as sleep } from 'node:timers/promises';

export async function api(baseUrl: string, path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function getRecording(baseUrl: string, id: string): Promise<Recording | undefined> {
  const res = await api(baseUrl, `/api/recordings/${id}`).catch(() => undefined);
  return res?.status === 200 ? RecordingSchema.parse(res.body) : undefined;
}

export async function waitForRecording(baseUrl: string, id: string, match: (r: Recording) => boolean, what: string, timeoutMs: number): Promise<Recording> {
  const deadline = Date.now() + timeoutMs;
  let last: Recording | undefined;
  for (;;) {
    last = (await getRecording(baseUrl, id)) ?? last;
    if (last && match(last)) return last;
    if (Date.now() > deadline) throw new Error(`recording ${id}: timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

export { sleep };

/** A WHIP publisher in Chromium and its recording, once it has reached `recording` (its first keyframe is written). */
export async function startRecording(
  browser: TestBrowser,
  baseUrl: string,
  options: { videoCodec: 'h264' | 'vp8' | 'vp9'; container?: Container },
): Promise<{ recording: Recording; close: () => Promise<void> }> {
  const page = await browser.context.newPage();
  await page.goto(`${baseUrl}/healthz`);
  const { sessionId } = await publishWhip(page, { videoCodec: options.videoCodec });
  const body = options.container ? JSON.stringify({ container: options.container }) : undefined;
  const res = await api(baseUrl, `/api/sessions/${sessionId}/recordings`, {
    method: 'POST',
    ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const started = RecordingSchema.parse(res.body);
  const recording = await waitForRecording(baseUrl, started.id, (r) => r.status === 'recording' && r.startedAt !== null, 'the first keyframe', 30_000);
  return { recording, close: () => page.close() };
}

/** Sleeps until `ms` after the recording's first keyframe. */
export async function untilRecorded(recording: Recording, ms: number): Promise<void> {
  await sleep(Math.max(0, Date.parse(recording.startedAt ?? '') + ms - Date.now()));
}

export async function stopRecording(baseUrl: string, id: string): Promise<Recording> {
  const res = await api(baseUrl, `/api/recordings/${id}/stop`, { method: 'POST' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return waitForRecording(baseUrl, id, (r) => isTerminal(r.status), 'the recording to end', 90_000);
}

/** The recorder's id, from its first log lines. */
export async function recorderIdOf(p: ServiceProcess): Promise<string> {
  const ready = await p.waitForLog((l) => l.msg === 'service ready', 30_000);
  const id = (ready as { recorderId?: unknown }).recorderId;
  assert.equal(typeof id, 'string', 'the recorder names itself in its log lines');
  return id as string;
}

/** Every process under `pid` (the recorder's GStreamer or FFmpeg children), from /proc. */
export async function descendants(pid: number): Promise<number[]> {
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

/** kill -9 of a recorder and of the children it runs, as when its node is lost. */
export async function killRecorder(p: ServiceProcess): Promise<void> {
  const pid = p.child.pid ?? 0;
  const children = await descendants(pid);
  assert.ok(children.length > 0, 'the recorder runs a child for the recording');
  for (const c of [pid, ...children]) process.kill(c, 'SIGKILL');
}

/**
 * The checks of a kill -9 handover: done on another recorder, two segments (the dead recorder's salvaged
 * file first), one declared gap of at most 2 s where the kill was, and wall time − gap = duration (± 0.5 s).
 */
export function assertHandedOverAfterKill(done: Recording, killedRecorderId: string, killedAtMs: number, options: { lateStartMs?: number } = {}): void {
  // lateStartMs: how much later than the first frame a container's first keyframe may be seen (see its test)
  const late = options.lateStartMs ?? 0;
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(done.stopReason, 'requested');
  assert.notEqual(done.recorderId, killedRecorderId, 'another recorder finished it');
  assert.equal(done.segments?.length, 2, 'two segments');
  assert.equal(done.segments?.[0]?.recorderId, killedRecorderId, "the dead recorder's salvaged file is the first segment");
  assert.equal(done.gaps?.length, 1, `one declared gap: ${JSON.stringify(done.gaps)}`);
  const gap = done.gaps?.[0];
  assert.ok(gap && gap.ms > 0 && gap.ms <= 2000, `gap ${JSON.stringify(gap)}`);
  // the first segment holds a little more than the wall time from startedAt to the kill: the first keyframe
  // is seen when the muxer's first bytes reach the disk
  assert.ok(gap.atMs >= killedAtMs - 1500 && gap.atMs <= killedAtMs + 1000 + late, `the gap is where the kill was: ${gap.atMs} ms`);
  const wallMs = Date.parse(done.stoppedAt ?? '') - Date.parse(done.startedAt ?? '');
  assert.ok(Math.abs((done.durationMs ?? 0) - (wallMs - gap.ms)) <= 500 + late, `duration ${done.durationMs} ms, wall ${wallMs} ms, gap ${gap.ms} ms`);
}
