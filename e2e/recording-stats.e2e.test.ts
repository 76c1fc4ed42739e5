// Issue 11, item 4, against the real stack: a Chromium publisher whose resolution changes mid-recording
// (its sender is told to halve the resolution, then to go back) gets a recording whose `stats` say so. The
// recorder's cheap reading (packets, and keyframes only decoded) is checked against a full decode of the file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RecordingSchema, type Recording } from '@recstack/contracts';
import { launchChromium, publishWhip, startStack, videoFrameSizes, type FrameSize, type TestBrowser, type TestStack } from '@recstack/testkit';

let stack: TestStack;
let browser: TestBrowser;

before(async () => {
  stack = await startStack();
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

async function waitForStatus(id: string, status: Recording['status'], timeoutMs: number): Promise<Recording> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = RecordingSchema.parse((await api(`/api/recordings/${id}`)).body);
    if (rec.status === status) return rec;
    if (Date.now() > deadline) throw new Error(`recording ${id} still ${rec.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The resolution runs of a full decode: where each new size begins, from the first frame. */
function runsOf(frames: readonly FrameSize[]): Array<{ atMs: number; width: number; height: number }> {
  const runs: Array<{ atMs: number; width: number; height: number }> = [];
  for (const f of frames) {
    const last = runs[runs.length - 1];
    if (!last || last.width !== f.width || last.height !== f.height) runs.push({ atMs: Math.round(f.atSec * 1000), width: f.width, height: f.height });
  }
  return runs;
}

/** The size most frames' time belongs to, from a full decode. */
function dominantOf(frames: readonly FrameSize[]): string {
  const ms = new Map<string, number>();
  frames.forEach((f, i) => {
    const next = frames[i + 1];
    const key = `${f.width}x${f.height}`;
    ms.set(key, (ms.get(key) ?? 0) + (next ? next.atSec - f.atSec : 0));
  });
  return [...ms.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

for (const codec of ['vp8', 'h264'] as const) {
  test(`${codec}: stats count packets, frames and keyframes, and list the resolution changes a full decode sees`, { timeout: 180_000 }, async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${stack.baseUrl}/healthz`);
      const session = await publishWhip(page, { videoCodec: codec });
      const res = await api(`/api/sessions/${session.sessionId}/recordings`, { method: 'POST' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const started = RecordingSchema.parse(res.body);
      await waitForStatus(started.id, 'recording', 30_000);
      const scale = (by: number) =>
        page.evaluate(async (factor) => {
          const pcs = (globalThis as unknown as { __whip: RTCPeerConnection[] }).__whip;
          const sender = pcs[pcs.length - 1]?.getSenders().find((s) => s.track?.kind === 'video');
          if (!sender) throw new Error('no video sender');
          const params = sender.getParameters();
          for (const e of params.encodings) e.scaleResolutionDownBy = factor;
          await sender.setParameters(params);
        }, by);
      await new Promise((r) => setTimeout(r, 2500));
      await scale(4);
      await new Promise((r) => setTimeout(r, 2500));
      await scale(1);
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal((await api(`/api/recordings/${started.id}/stop`, { method: 'POST' })).status, 200);
      const done = RecordingSchema.parse((await api(`/api/recordings/${started.id}`)).body);
      assert.equal(done.status, 'done', JSON.stringify(done.error));
      const stats = done.stats;
      assert.ok(stats, 'the recording has stats');
      console.log(`${codec} stats: ${JSON.stringify(stats)}`);

      const frames = await videoFrameSizes(join(stack.recordingsDir, done.fileName));
      const decoded = runsOf(frames);
      const seen = `stats ${JSON.stringify(stats.resolutionChanges)}; full decode ${JSON.stringify(decoded)}`;
      // H264 and VP8 change resolution only at keyframes: the keyframes-only reading sees every change
      assert.deepEqual(
        stats.resolutionChanges?.map((c) => `${c.width}x${c.height}`),
        decoded.map((c) => `${c.width}x${c.height}`),
        seen,
      );
      stats.resolutionChanges?.forEach((c, i) => assert.ok(Math.abs(c.atMs - (decoded[i]?.atMs ?? -1e9)) <= 100, `change ${i} timed like the decode: ${seen}`));
      assert.ok(
        stats.resolutionChanges?.some((c) => c.width <= 320),
        `the quarter-size stretch is listed: ${seen}`,
      );
      assert.ok((stats.resolutionChanges?.length ?? 0) >= 3, seen);
      const video = done.tracks.find((t) => t.kind === 'video');
      assert.equal(`${video?.width}x${video?.height}`, dominantOf(frames), `tracks[] names the resolution most of the file has: ${seen}`);

      assert.equal(stats.framesWritten, frames.length, 'one packet per frame in the file');
      assert.ok((stats.keyframesReceived ?? 0) >= 3, 'a keyframe at the start and at each change');
      assert.ok((stats.longestGapMs ?? 0) > 0 && (stats.longestGapMs ?? 0) < 2000, 'no long stretch without frames on loopback');
      assert.ok((stats.packetsReceived ?? 0) >= frames.length, 'at least one packet per frame arrived');
      assert.ok((stats.keyframesRequested ?? 0) >= 1, 'media asked for the first keyframe');
      assert.equal(stats.packetsLost !== null && stats.packetsRetransmitted !== null, true, 'media wrote its counts');
    } finally {
      await page.close();
    }
  });
}
