// The in-process description of MP4 files against ffprobe's, on real files from GStreamer's and FFmpeg's muxers:
// the streams and duration a stop reports must be what ffprobe says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compactMp4 } from './mp4-compact.js';
import { describeMp4 } from './mp4-describe.js';
import { parseProbe, probeFile } from './file-probe.js';

const execTool = promisify(execFile);
const tools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-describe-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ffprobeFacts(path: string) {
  const { stdout } = await execTool('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]);
  return parseProbe(JSON.parse(stdout) as Parameters<typeof parseProbe>[0], (await stat(path)).size);
}

async function assertSameAsFfprobe(path: string): Promise<void> {
  const size = (await stat(path)).size;
  const ours = await describeMp4(path, size);
  assert.ok(ours, `${path}: described`);
  const theirs = await ffprobeFacts(path);
  assert.deepEqual(ours.tracks, theirs.tracks, `${path}: the same tracks`);
  assert.equal(ours.formatName, theirs.formatName);
  assert.equal(ours.encoder, theirs.encoder, `${path}: the same writing application`);
  // FFmpeg counts the duration in the movie's time base, in which edits may round by a tick
  assert.ok(Math.abs(ours.durationMs - theirs.durationMs) <= 2, `${path}: ${ours.durationMs} ms against ffprobe's ${theirs.durationMs} ms`);
}

const lavfi = (video: string, seconds: number) => ['-f', 'lavfi', '-i', `${video}:d=${seconds}`, '-f', 'lavfi', '-i', `sine=sample_rate=48000:d=${seconds}`];

test('GStreamer robust-muxed H264 + AAC, as written and once compacted with priming declared: described as ffprobe does', async () => {
  const robust = join(dir, 'robust.mp4');
  await execTool('gst-launch-1.0', [
    '-q',
    '-e',
    'videotestsrc',
    'num-buffers=90',
    '!',
    'video/x-raw,width=640,height=360,framerate=30/1',
    '!',
    'x264enc',
    'tune=zerolatency',
    'key-int-max=30',
    '!',
    'h264parse',
    '!',
    'mux.video_0',
    'audiotestsrc',
    'num-buffers=150',
    '!',
    'audio/x-raw,rate=48000,channels=2',
    '!',
    'voaacenc',
    '!',
    'aacparse',
    '!',
    'mux.audio_0',
    'mp4mux',
    'name=mux',
    'reserved-max-duration=14400000000000',
    'reserved-moov-update-period=1000000000',
    '!',
    'filesink',
    `location=${robust}`,
  ]);
  await assertSameAsFfprobe(robust);
  const compacted = join(dir, 'compacted.mp4');
  assert.deepEqual(await compactMp4(robust, compacted, 1024), { ok: true });
  await assertSameAsFfprobe(compacted);
});

test('GStreamer H264 (avc3) changing resolution: mp4mux adds a second sample description; described as ffprobe does, as written and compacted', async () => {
  const written = join(dir, 'two-sizes.mp4');
  const size = (width: number, height: number, buffers: number) => [
    'videotestsrc',
    `num-buffers=${buffers}`,
    '!',
    `video/x-raw,width=${width},height=${height},framerate=30/1`,
    '!',
    'x264enc',
    'tune=zerolatency',
    'key-int-max=30',
    '!',
    'c.',
  ];
  await execTool('gst-launch-1.0', [
    '-q',
    '-e',
    'concat',
    'name=c',
    '!',
    'h264parse',
    'config-interval=-1',
    '!',
    'video/x-h264,stream-format=avc3,alignment=au',
    '!',
    'mp4mux',
    'reserved-max-duration=14400000000000',
    'reserved-moov-update-period=1000000000',
    '!',
    'filesink',
    `location=${written}`,
    ...size(640, 360, 30),
    ...size(320, 240, 30),
  ]);
  await assertSameAsFfprobe(written);
  const compacted = join(dir, 'two-sizes-compacted.mp4');
  assert.deepEqual(await compactMp4(written, compacted, 0), { ok: true });
  await assertSameAsFfprobe(compacted);
});

test('FFmpeg-written MP4s: H264 + AAC, VP9 + Opus, AV1 + Opus, audio only', async () => {
  const files: Array<[string, string[]]> = [
    ['h264-aac.mp4', [...lavfi('testsrc2=s=320x240:r=30', 2), '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']],
    ['vp9-opus.mp4', [...lavfi('testsrc2=s=320x180:r=30', 2), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus']],
    ['av1-opus.mp4', [...lavfi('testsrc2=s=160x120:r=15', 1), '-c:v', 'libsvtav1', '-preset', '12', '-c:a', 'libopus']],
    ['audio.m4a', ['-f', 'lavfi', '-i', 'sine=sample_rate=44100:d=2', '-c:a', 'aac']],
  ];
  for (const [name, args] of files) {
    const path = join(dir, name);
    await execTool('ffmpeg', ['-nostdin', '-v', 'error', ...args, '-y', path]);
    await assertSameAsFfprobe(path);
  }
});

test('what it does not know is left to ffprobe: Matroska; probeFile still describes it', async () => {
  const mkv = join(dir, 'clip.mkv');
  await execTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    ...lavfi('testsrc2=s=320x240:r=30', 1),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-c:a',
    'libopus',
    '-y',
    mkv,
  ]);
  assert.equal(await describeMp4(mkv, (await stat(mkv)).size), undefined);
  const facts = await probeFile(mkv, tools);
  assert.deepEqual(
    facts.tracks.map((t) => t.codec),
    ['h264', 'opus'],
  );
  assert.equal(facts.firstFrameIsKeyframe, true);
});
