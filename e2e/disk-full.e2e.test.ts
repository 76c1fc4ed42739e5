// Disks cannot fill, through the whole stack: the recordings folder is a small tmpfs filled on purpose. A
// start while it is short of space is answered 507 INSUFFICIENT_STORAGE; a recording running when it fills
// up is finalized while that still fits (stopReason disk-full) and downloads as a playable file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RecordingSchema } from '@recstack/contracts';
import { decodeErrors, firstVideoFrameIsKeyframe, launchChromium, probe, publishWhip, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { listRecordings, waitFor } from './page-recording.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
let stack: TestStack | undefined;
let browser: TestBrowser | undefined;
let disk: string | undefined;
let scratch: string | undefined;
let mountRefused: string | undefined;

before(async () => {
  disk = await mkdtemp(join(tmpdir(), 'recstack-e2e-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0755', 'tmpfs', disk]);
  } catch (err) {
    mountRefused = `cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): ${(err as Error).message.split('\n')[0]}`;
    return;
  }
  stack = await startStack({ env: { RECORDINGS_DIR: disk }, recorderEnv: { RECORDER_MIN_FREE_BYTES: '32Mi', RECORDER_STOP_FREE_BYTES: '16Mi' } });
  browser = await launchChromium();
  scratch = await mkdtemp(join(tmpdir(), 'recstack-e2e-download-'));
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (disk) {
    if (!mountRefused) await run('umount', ['-l', disk]).catch(() => undefined);
    await rm(disk, { recursive: true, force: true });
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function fillUntil(dir: string, name: string, leaveFree: number): Promise<void> {
  const s = await statfs(dir);
  await writeFile(join(dir, name), Buffer.alloc(Math.max(0, s.bavail * s.bsize - leaveFree), 1));
}

test(
  'a small recordings disk: 507 INSUFFICIENT_STORAGE while it is short, and a recording it runs out under ends disk-full, playable',
  { timeout: 240_000 },
  async (t) => {
    if (mountRefused || !stack || !browser || !disk || !scratch) return t.skip(mountRefused ?? 'setup incomplete');
    const { baseUrl } = stack;
    const page = await browser.context.newPage();
    await page.goto(`${baseUrl}/healthz`);
    const { sessionId } = await publishWhip(page, { videoCodec: 'h264', width: 640, height: 360 });
    const startRecording = () =>
      fetch(`${baseUrl}/api/sessions/${sessionId}/recordings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

    await fillUntil(disk, 'filler-a', 24 * MIB);
    const refused = await waitFor(
      'a start refused for lack of disk space',
      async () => {
        const res = await startRecording();
        const body = (await res.json()) as { error?: { code: string; message: string } };
        // the session may still be connecting: only the disk's answer ends the wait
        return res.status === 507 ? { status: res.status, body } : undefined;
      },
      30_000,
    );
    assert.deepEqual(refused.body, { error: { code: 'INSUFFICIENT_STORAGE', message: 'no recorder has enough free disk space for another recording' } });

    await rm(join(disk, 'filler-a'));
    const res = await startRecording();
    assert.equal(res.status, 201, await res.clone().text());
    const started = RecordingSchema.parse(await res.json());
    await waitFor('the recording to run', async () => (await listRecordings(baseUrl)).find((r) => r.id === started.id && r.status === 'recording'), 30_000);
    await page.waitForTimeout(4000);
    await fillUntil(disk, 'filler-b', 8 * MIB);
    const done = await waitFor(
      'the recording to be finalized',
      async () => {
        const r = (await listRecordings(baseUrl)).find((x) => x.id === started.id);
        return r && (r.status === 'done' || r.status === 'failed') ? r : undefined;
      },
      60_000,
    );
    assert.equal(done.status, 'done', JSON.stringify(done));
    assert.equal(done.stopReason, 'disk-full');
    const s = await statfs(disk);
    assert.ok(s.bavail * s.bsize > 4 * MIB, 'the disk never filled up');

    const download = await fetch(`${baseUrl}/api/recordings/${done.id}/media?download=1`);
    assert.equal(download.status, 200);
    const path = join(scratch, done.fileName);
    await writeFile(path, Buffer.from(await download.arrayBuffer()));
    assert.ok((done.durationMs ?? 0) > 2000, `a few seconds were recorded (${done.durationMs} ms)`);
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((st) => st.codec_name).sort(), ['aac', 'h264']);
    assert.ok(Math.abs(probed.durationSec - (done.durationMs ?? 0) / 1000) <= 1, `duration ${probed.durationSec} s`);
    assert.equal(await firstVideoFrameIsKeyframe(path), true);
    // Every frame decodes. The file is as the muxer wrote it (no copy fitted, so no timestamp retiming either):
    // FFmpeg's null muxer may still point out two equal video timestamps from Chromium's capture clock, which
    // the finalizing copy would have evened out. Any other complaint fails.
    const complaints = (await decodeErrors(path)).split('\n').filter((l) => l.trim() && !/non monotonically increasing dts to muxer in stream 0/.test(l));
    assert.deepEqual(complaints, []);
  },
);
