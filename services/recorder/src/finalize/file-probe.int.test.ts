// The decode check against the real FFmpeg: full when it fits its budget, honest (`partial`) when not; keyframes
// mode; variable frame rate is not an error (`-fps_mode vfr`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeFile, probeFile } from './file-probe.js';

const execTool = promisify(execFile);
const tools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };
let dir: string;
let clip: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-decode-'));
  clip = join(dir, 'clip.mkv');
  // 40 s of 640x360: its full decode takes seconds, far more than the short budget below
  await execTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=640x360:r=30:d=40',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '60',
    '-bf',
    '0',
    clip,
  ]);
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

test("keyframes mode (RECORDER_VERIFY=keyframes) at the verification's priority: clean, scope partial (frames between keyframes not decoded)", async () => {
  assert.deepEqual(await decodeFile(clip, tools, 120_000, 'keyframes', { nice: 19, ioIdle: true }), { clean: true, scope: 'partial', errors: [] });
});

test('variable frame rate is not a decode error: the check uses -fps_mode vfr', async () => {
  // 30 fps where, after FFmpeg's analysis window, every tenth frame is captured 30 ms late (3 ms before the
  // next): without -fps_mode vfr FFmpeg's null muxer rounds both to one tick of its guessed 30 fps and
  // prints "non monotonically increasing dts"; the file is valid and decodes without an error
  const vfr = join(dir, 'vfr.mp4');
  await execTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=320x180:r=30:d=6',
    '-vf',
    "settb=1/90000,setpts='(N/30+if(gte(N\\,60)*eq(mod(N\\,10)\\,5)\\,0.030\\,0))/TB'",
    '-fps_mode',
    'vfr',
    '-enc_time_base:v',
    '1/90000',
    '-video_track_timescale',
    '90000',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-bf',
    '0',
    vfr,
  ]);
  const literal = await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', vfr, '-f', 'null', '-']);
  assert.match(literal.stderr, /non monotonically increasing dts/, 'the old check complains about this valid file (otherwise this test proves nothing)');
  assert.deepEqual(await decodeFile(vfr, tools, 120_000), { clean: true, scope: 'full', errors: [] });
});

test('an aborted decode (shutdown) ends its child at once and claims nothing clean', async () => {
  const stop = new AbortController();
  const check = decodeFile(clip, tools, 120_000, 'full', { nice: 19, ioIdle: true, signal: stop.signal });
  setTimeout(() => stop.abort(), 100);
  const result = await check;
  assert.equal(result.clean, false);
});

test('probeFile: streams, duration, stats and the first-frame check from one read of the video; a file cut after its first keyframe is found', async () => {
  const whole = join(dir, 'whole.mp4');
  const cut = join(dir, 'cut.mp4');
  const audioOnly = join(dir, 'audio.m4a');
  await execTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=640x360:r=30:d=4',
    '-f',
    'lavfi',
    '-i',
    'sine=d=4',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '60',
    '-bf',
    '0',
    '-c:a',
    'aac',
    whole,
  ]);
  // the first frame (the keyframe) dropped: the file starts with frames that need it
  await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', whole, '-map', '0', '-c', 'copy', '-bsf:v', 'noise=drop=eq(n\\,0)', cut]);
  await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', whole, '-vn', '-c', 'copy', audioOnly]);

  const facts = await probeFile(whole, tools);
  assert.deepEqual(
    facts.tracks.map((t) => `${t.kind}:${t.codec}`),
    ['video:h264', 'audio:aac'],
  );
  assert.ok(Math.abs(facts.durationMs - 4000) < 100, `duration ${facts.durationMs} ms`);
  assert.equal(facts.firstFrameIsKeyframe, true);
  assert.equal(facts.stats?.framesWritten, 120);
  assert.equal(facts.stats?.keyframesReceived, 2);
  assert.deepEqual(facts.stats?.resolutionChanges, [{ atMs: 0, width: 640, height: 360 }]);

  const cutFacts = await probeFile(cut, tools);
  assert.equal(cutFacts.firstFrameIsKeyframe, false, 'the first frame is not a keyframe');
  assert.equal(cutFacts.stats?.framesWritten, 119);

  const audio = await probeFile(audioOnly, tools);
  assert.deepEqual(
    audio.tracks.map((t) => t.kind),
    ['audio'],
  );
  assert.equal(audio.firstFrameIsKeyframe, undefined, 'no video, no claim');
  assert.ok((audio.stats?.framesWritten ?? 0) > 100, 'audio packets counted');
});
