// Three publishers over WHIP, three recordings at the same time on two recorders: each gets its own ports
// and a good file, and media spreads them over both recorders by load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RecordingSchema, type Recording } from '@recstack/contracts';
import { launchChromium, publishWhip, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { assertPlayableRecording } from './recording-checks.js';

const run = promisify(execFile);
let stack: TestStack;
let browser: TestBrowser;

before(async () => {
  stack = await startStack({ recorders: 2 });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** UDP ports bound on this machine inside the recorder port range media was given. */
async function recorderPortsInUse(): Promise<number[]> {
  const min = Number(stack.envFor('media').RECORDER_PORT_MIN);
  const max = Number(stack.envFor('media').RECORDER_PORT_MAX);
  const { stdout } = await run('ss', ['-H', '-u', '-a', '-n']);
  const ports = stdout
    .split('\n')
    .map((line) => Number(line.trim().split(/\s+/)[3]?.split(':').pop()))
    .filter((p) => p >= min && p <= max);
  return [...new Set(ports)].sort((a, b) => a - b);
}

async function waitForStatus(id: string, statuses: Recording['status'][], timeoutMs: number): Promise<Recording> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api(`/api/recordings/${id}`);
    const rec = RecordingSchema.parse(body);
    if (statuses.includes(rec.status)) return rec;
    if (Date.now() > deadline) throw new Error(`recording ${id} still ${rec.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('three WHIP publishers record at the same time on distinct ports, spread over both recorders', { timeout: 240_000 }, async () => {
  const sessions = [];
  for (let i = 0; i < 3; i++) {
    const page = await browser.context.newPage();
    await page.goto(`${stack.baseUrl}/healthz`);
    sessions.push({ page, ...(await publishWhip(page, { videoCodec: 'h264' })) });
  }
  const started = await Promise.all(
    sessions.map(async (s) => {
      // media needs a moment after the answer for ICE/DTLS; a start before any packet still works (keyframe requests repeat)
      const res = await api(`/api/sessions/${s.sessionId}/recordings`, { method: 'POST' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return RecordingSchema.parse(res.body);
    }),
  );
  await Promise.all(started.map((r) => waitForStatus(r.id, ['recording'], 30_000)));

  // each recording listens on its own RTP and RTCP ports: 3 recordings × (audio + video) × (RTP + RTCP)
  const ports = await recorderPortsInUse();
  assert.equal(ports.length, 12, `recorder ports in use: ${ports.join(',')}`);

  await new Promise((r) => setTimeout(r, 6_000));
  const stopped = await Promise.all(
    started.map(async (r) => {
      const res = await api(`/api/recordings/${r.id}/stop`, { method: 'POST' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return RecordingSchema.parse(res.body);
    }),
  );
  for (const rec of stopped) {
    assert.equal(rec.status, 'done', JSON.stringify(rec.error));
    assert.ok(rec.startedAt && rec.stoppedAt);
    const expected = (Date.parse(rec.stoppedAt) - Date.parse(rec.startedAt)) / 1000;
    assert.ok(expected >= 6, `recorded from ${rec.startedAt} to ${rec.stoppedAt}`);
    await assertPlayableRecording(join(stack.recordingsDir, rec.fileName), { video: 'h264', audio: 'aac', durationSec: expected, toleranceSec: 1.5 });
  }
  assert.equal(new Set(stopped.map((r) => r.fileName)).size, 3);
  // least loaded first: 2 and 1 (the NATS queue group alone puts all three on one recorder a quarter of the time)
  const perRecorder = new Map<string, number>();
  for (const r of stopped) perRecorder.set(r.recorderId ?? '?', (perRecorder.get(r.recorderId ?? '?') ?? 0) + 1);
  assert.deepEqual([...perRecorder.values()].sort(), [1, 2], `recordings per recorder: ${JSON.stringify([...perRecorder])}`);

  // ending the sessions with WHIP DELETE leaves nothing running
  for (const s of sessions) {
    const res = await fetch(`${stack.baseUrl}${s.location}`, { method: 'DELETE' });
    assert.ok(res.status === 200 || res.status === 204, `DELETE ${s.location} → ${res.status}`);
    await s.page.close();
  }
});
