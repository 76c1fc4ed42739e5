// The decode check against the real FFmpeg: full when it fits its budget, honest (`partial`) when not.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeFile } from './file-probe.js';

const execTool = promisify(execFile);
const tools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };
let dir: string;
let clip: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-decode-'));
  clip = join(dir, 'clip.mkv');
  // 40 s of 640x360: its full decode takes seconds, far more than the short budget below
  await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=30:d=40', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-bf', '0', clip]);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a file that fits the budget is decoded in full and found clean', async () => {
  assert.deepEqual(await decodeFile(clip, tools, 120_000), { clean: true, scope: 'full', errors: [] });
});

test('a decode that outlasts its budget reports partial, clean as far as it went, not a failure', async () => {
  const check = await decodeFile(clip, tools, 150);
  assert.equal(check.scope, 'partial');
  assert.equal(check.clean, true, check.errors.join('\n'));
});

test('no budget left: nothing checked, nothing claimed', async () => {
  assert.deepEqual(await decodeFile(clip, tools, 0), { clean: false, scope: 'none', errors: [] });
});

test('damaged video is found by the full decode', async () => {
  const damaged = join(dir, 'damaged.mkv');
  await copyFile(clip, damaged);
  const { size } = await stat(damaged);
  const file = await open(damaged, 'r+');
  // garbage over a stretch in the middle of the frames: the container still parses, the frames do not
  await file.write(Buffer.alloc(64 * 1024, 0x5a), 0, 64 * 1024, Math.floor(size / 2));
  await file.close();
  const check = await decodeFile(damaged, tools, 120_000);
  assert.equal(check.scope, 'full');
  assert.equal(check.clean, false);
  assert.ok(check.errors.length > 0);
});
