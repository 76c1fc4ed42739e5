// The in-process MP4 compaction against real files: GStreamer's robust muxing writes them, FFmpeg's copy (what
// the stop did before) is the reference, ffprobe and the decoder judge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compactMp4, isCompactedMp4 } from './mp4-compact.js';

const execTool = promisify(execFile);
let dir: string;
let robust: string;

/** Every packet of every stream as ffprobe reads it: what a player gets from the file. */
async function packets(path: string): Promise<string> {
  const { stdout } = await execTool(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'packet=stream_index,pts,dts,duration,size,flags', '-of', 'compact=p=0', path],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

async function streamTimes(path: string): Promise<Array<{ start: number; duration: number }>> {
  const { stdout } = await execTool('ffprobe', ['-v', 'error', '-show_entries', 'stream=start_time,duration', '-of', 'json', path]);
  return (JSON.parse(stdout) as { streams: Array<{ start_time: string; duration: string }> }).streams.map((s) => ({
    start: Number(s.start_time),
    duration: Number(s.duration),
  }));
}

async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-fps_mode', 'vfr', '-f', 'null', '-']);
  return stderr.trim();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-compact-'));
  robust = join(dir, 'robust.mp4');
  // 3 s of H264 + AAC through mp4mux's robust muxing with 4 h reserved, as the recorder writes it
  await execTool('gst-launch-1.0', [
    '-q',
    '-e',
    'videotestsrc',
    'num-buffers=90',
    '!',
    'video/x-raw,width=320,height=240,framerate=30/1',
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
    'audio/x-raw,rate=48000',
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
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a robust-muxed MP4 loses its reserved slack and keeps every packet as FFmpeg's copy does", async () => {
  const ours = join(dir, 'ours.mp4');
  const ffmpeg = join(dir, 'ffmpeg.mp4');
  assert.deepEqual(await compactMp4(robust, ours, 0), { ok: true });
  await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', robust, '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', '-y', ffmpeg]);
  const [before, after] = [(await stat(robust)).size, (await stat(ours)).size];
  assert.ok(after < before / 10, `${before} → ${after} bytes: the reserved index space is gone`);
  assert.ok(Math.abs(after - (await stat(ffmpeg)).size) < 4096, "about the size of FFmpeg's copy");
  assert.equal(await packets(ours), await packets(robust), 'every packet as the muxer wrote it');
  assert.equal(await decodeErrors(ours), '');
  const bytes = await readFile(ours);
  const ftypSize = bytes.readUInt32BE(0);
  const moovSize = bytes.readUInt32BE(ftypSize);
  const order = [
    bytes.toString('latin1', 4, 8),
    bytes.toString('latin1', ftypSize + 4, ftypSize + 8),
    bytes.toString('latin1', ftypSize + moovSize + 4, ftypSize + moovSize + 8),
  ];
  assert.deepEqual(order, ['ftyp', 'moov', 'mdat'], 'the index first, then the media, nothing between');
  // a salvage tells a compacted file (priming already declared) from a robust-muxed one
  assert.equal(await isCompactedMp4(ours), true);
  assert.equal(await isCompactedMp4(ffmpeg), true, "FFmpeg's faststart copy too");
  assert.equal(await isCompactedMp4(robust), false);
});

test("AAC priming is declared in the audio edit list: the audio starts where FFmpeg's shifted copy has it", async () => {
  const ours = join(dir, 'primed.mp4');
  const ffmpeg = join(dir, 'primed-ffmpeg.mp4');
  assert.deepEqual(await compactMp4(robust, ours, 1024), { ok: true });
  await execTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-i',
    robust,
    '-map',
    '0',
    '-c',
    'copy',
    '-bsf:a',
    'setts=ts=TS-1024',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    '-y',
    ffmpeg,
  ]);
  const [mine, theirs] = [await streamTimes(ours), await streamTimes(ffmpeg)];
  assert.equal(mine.length, 2);
  mine.forEach((m, i) => {
    assert.equal(m.start, theirs[i]?.start, `stream ${i} starts at the same time`);
    // FFmpeg writes edit durations in milliseconds, the muxer's movie time base is finer
    assert.ok(Math.abs(m.duration - (theirs[i]?.duration ?? 0)) < 0.001, `stream ${i}: ${m.duration} s against ${theirs[i]?.duration} s`);
  });
  // the first audio sample a player outputs: decoded audio from both files is the same, sample for sample
  const pcm = async (path: string) =>
    (await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', '0:a', '-f', 's16le', '-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }))
      .stdout;
  const [a, b] = [await pcm(ours), await pcm(ffmpeg)];
  assert.equal(a.length, b.length, 'as many samples');
  assert.ok(a.equals(b), 'the same samples');
  assert.equal(await decodeErrors(ours), '');
});

test('a layout it does not know is left to FFmpeg', async () => {
  const fragmented = join(dir, 'fragmented.mp4');
  await execTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-i',
    robust,
    '-map',
    '0',
    '-c',
    'copy',
    '-movflags',
    'frag_keyframe+empty_moov',
    '-f',
    'mp4',
    '-y',
    fragmented,
  ]);
  const outcome = await compactMp4(fragmented, join(dir, 'never.mp4'), 0);
  assert.equal(outcome.ok, false);
  const garbage = join(dir, 'garbage.mp4');
  await writeFile(garbage, Buffer.alloc(1000, 7));
  assert.equal((await compactMp4(garbage, join(dir, 'never2.mp4'), 0)).ok, false);
});
