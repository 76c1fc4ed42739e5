// The in-process read of a stop (mp4-track-read.ts) against ffprobe's (probeTrackStats) on real files in the
// shapes the recorder writes: GStreamer's robust-muxed MP4 as written and compacted, H264 as avc3 with its
// parameter sets in-band and a resolution change, VP9 with a resolution change written as Matroska and
// remuxed by FFmpeg (the recorder's VP9 → MP4 path), audio-only AAC and Opus; and FFmpeg's own MP4s (B-frames,
// a first frame that is not a keyframe).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { probeTrackStats, type TrackReadResult } from './file-stats.js';
import { probeFile } from './file-probe.js';
import { find, moovBox, scanTopLevel } from './mp4-boxes.js';
import { compactMp4 } from './mp4-compact.js';
import { readMoov } from './mp4-describe.js';
import { readMp4Track } from './mp4-track-read.js';

const execTool = promisify(execFile);
const tools = { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' };
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-track-read-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ROBUST_MP4MUX = ['mp4mux', 'name=mux', 'reserved-max-duration=14400000000000', 'reserved-moov-update-period=1000000000'];
const AAC = ['audiotestsrc', 'num-buffers=150', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'voaacenc', '!', 'aacparse'];
const OPUS = ['audiotestsrc', 'num-buffers=150', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'opusenc', '!', 'opusparse'];

/** Two encoder runs of different sizes joined by `concat`: the second starts with a keyframe of the new size. */
function twoSizes(encoder: string[]): string[] {
  return [
    ...['videotestsrc', 'num-buffers=45', '!', 'video/x-raw,width=640,height=360,framerate=30/1', '!', ...encoder, '!', 'c.'],
    ...['videotestsrc', 'num-buffers=75', '!', 'video/x-raw,width=320,height=240,framerate=30/1', '!', ...encoder, '!', 'c.'],
  ];
}

const gst = (...args: string[]) => execTool('gst-launch-1.0', ['-q', '-e', ...args]);
const ffmpeg = (...args: string[]) => execTool('ffmpeg', ['-nostdin', '-v', 'error', ...args]);

async function inProcess(path: string, kind: 'video' | 'audio'): Promise<TrackReadResult | undefined> {
  const size = (await stat(path)).size;
  const moov = await readMoov(path, size);
  assert.ok(moov, `${path}: an MP4`);
  return readMp4Track(path, size, moov, kind);
}

/** The same read as ffprobe's: frames, keyframes, resolution changes, dominant size, first frame; the gap within 1 ms. */
async function assertSameAsFfprobe(path: string, kind: 'video' | 'audio', firstFrame = true): Promise<TrackReadResult> {
  const ours = await inProcess(path, kind);
  const theirs = await probeTrackStats(path, tools, kind);
  assert.ok(ours, `${path}: read in process`);
  assert.ok(theirs, `${path}: read by ffprobe`);
  assert.ok(
    Math.abs(ours.stats.longestGapMs - theirs.stats.longestGapMs) <= 1,
    `${path}: gap ${ours.stats.longestGapMs} against ${theirs.stats.longestGapMs} ms`,
  );
  const gapless = (r: TrackReadResult) => ({
    ...r,
    stats: { ...r.stats, longestGapMs: 0 },
    firstFrameIsKeyframe: firstFrame ? r.firstFrameIsKeyframe : undefined,
  });
  assert.deepEqual(gapless(ours), gapless(theirs), `${path}: the same read`);
  return ours;
}

test('GStreamer H264 (avc3, parameter sets in-band) changing 640x360 → 320x240, with AAC: as written and compacted', async () => {
  const written = join(dir, 'h264.mp4');
  await gst(
    'concat',
    'name=c',
    '!',
    'h264parse',
    'config-interval=-1',
    '!',
    'video/x-h264,stream-format=avc3,alignment=au',
    '!',
    'mux.video_0',
    ...twoSizes(['x264enc', 'tune=zerolatency', 'key-int-max=30']),
    ...AAC,
    '!',
    'mux.audio_0',
    ...ROBUST_MP4MUX,
    '!',
    'filesink',
    `location=${written}`,
  );
  const compacted = join(dir, 'h264-compacted.mp4');
  assert.deepEqual(await compactMp4(written, compacted, 1024), { ok: true });
  for (const path of [written, compacted]) {
    const read = await assertSameAsFfprobe(path, 'video');
    assert.deepEqual(
      read.stats.resolutionChanges.map((c) => `${c.width}x${c.height}`),
      ['640x360', '320x240'],
      'the change is seen (otherwise this test proves little)',
    );
    assert.equal(read.firstFrameIsKeyframe, true);
    await assertSameAsFfprobe(path, 'audio');
  }
});

test('GStreamer VP9 changing 640x360 → 320x240, as Matroska remuxed to MP4 by FFmpeg; and as mp4mux writes it', async () => {
  const mkv = join(dir, 'vp9.mkv');
  await gst(
    'concat',
    'name=c',
    '!',
    'vp9parse',
    '!',
    'matroskamux',
    '!',
    'filesink',
    `location=${mkv}`,
    ...twoSizes(['vp9enc', 'deadline=1', 'cpu-used=8', 'keyframe-max-dist=30']),
  );
  const remuxed = join(dir, 'vp9.mp4');
  await ffmpeg('-i', mkv, '-map', '0', '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', remuxed);
  const read = await assertSameAsFfprobe(remuxed, 'video');
  assert.equal(read.stats.resolutionChanges.length, 2, JSON.stringify(read.stats));

  const muxed = join(dir, 'vp9-mp4mux.mp4');
  await gst(
    'videotestsrc',
    'num-buffers=60',
    '!',
    'video/x-raw,width=320,height=180,framerate=30/1',
    '!',
    'vp9enc',
    'deadline=1',
    'cpu-used=8',
    'keyframe-max-dist=30',
    '!',
    'vp9parse',
    '!',
    ...ROBUST_MP4MUX,
    '!',
    'filesink',
    `location=${muxed}`,
  );
  await assertSameAsFfprobe(muxed, 'video');
  const compacted = join(dir, 'vp9-compacted.mp4');
  assert.deepEqual(await compactMp4(muxed, compacted, 0), { ok: true });
  await assertSameAsFfprobe(compacted, 'video');
});

test('audio only: AAC (priming declared by the compaction) and Opus, as written and compacted', async () => {
  for (const [name, encoder, priming] of [
    ['aac', AAC, 1024],
    ['opus', OPUS, 0],
  ] as const) {
    const written = join(dir, `${name}.mp4`);
    await gst(...encoder, '!', ...ROBUST_MP4MUX, '!', 'filesink', `location=${written}`);
    const compacted = join(dir, `${name}-compacted.mp4`);
    assert.deepEqual(await compactMp4(written, compacted, priming), { ok: true });
    for (const path of [written, compacted]) {
      const read = await assertSameAsFfprobe(path, 'audio');
      assert.ok(read.stats.framesWritten > 100, `${path}: ${read.stats.framesWritten} audio packets`);
      assert.equal(read.firstFrameIsKeyframe, undefined);
    }
  }
});

test('edit lists: a video that starts 0.3 s after the audio (an empty edit first), priming that is not a whole AAC frame (a packet straddles the edit)', async () => {
  const written = join(dir, 'late-video.mp4');
  await gst(
    'videotestsrc',
    'timestamp-offset=300000000',
    'num-buffers=60',
    '!',
    'video/x-raw,width=320,height=180,framerate=30/1',
    '!',
    'x264enc',
    'tune=zerolatency',
    'key-int-max=30',
    '!',
    'h264parse',
    'config-interval=-1',
    '!',
    'video/x-h264,stream-format=avc3,alignment=au',
    '!',
    'mux.video_0',
    ...AAC,
    '!',
    'mux.audio_0',
    ...ROBUST_MP4MUX,
    '!',
    'filesink',
    `location=${written}`,
  );
  const compacted = join(dir, 'late-video-compacted.mp4');
  assert.deepEqual(await compactMp4(written, compacted, 1500), { ok: true });
  for (const path of [written, compacted]) {
    const video = await assertSameAsFfprobe(path, 'video');
    assert.equal(video.stats.resolutionChanges[0]?.atMs, 0, 'timed from the first frame');
    await assertSameAsFfprobe(path, 'audio');
  }
});

test("FFmpeg's MP4s: H264 with B-frames (composition offsets, an edit that starts after the first decode); a first frame that is not a keyframe", async () => {
  const bframes = join(dir, 'bframes.mp4');
  await ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=s=640x360:r=30:d=3',
    '-f',
    'lavfi',
    '-i',
    'sine=d=3',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-bf',
    '2',
    '-g',
    '45',
    '-c:a',
    'aac',
    bframes,
  );
  // ffprobe's check compares the first packet's decode time with the first frame's, which B-frames delay:
  // it says false for this file, whose first frame is an IDR with its parameter sets
  assert.equal((await assertSameAsFfprobe(bframes, 'video', false)).firstFrameIsKeyframe, true);
  await assertSameAsFfprobe(bframes, 'audio');

  const whole = join(dir, 'whole.mp4');
  const cut = join(dir, 'cut.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=30:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-bf', '0', whole);
  await ffmpeg('-i', whole, '-c', 'copy', '-bsf:v', 'noise=drop=eq(n\\,0)', cut);
  const read = await assertSameAsFfprobe(cut, 'video');
  assert.equal(read.firstFrameIsKeyframe, false);
});

test('a first sample the sample table calls a keyframe whose bytes are not one: not a keyframe', async () => {
  const whole = join(dir, 'whole-for-stss.mp4');
  const cut = join(dir, 'stss.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=30:d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-bf', '0', whole);
  await ffmpeg('-i', whole, '-c', 'copy', '-bsf:v', 'noise=drop=eq(n\\,0)', cut);
  // the first sync sample entry made to name sample 1, a predicted frame
  const size = (await stat(cut)).size;
  const file = await open(cut, 'r+');
  try {
    const moovAt = (await scanTopLevel(file, size))?.find((b) => b.type === 'moov');
    const moov = await readMoov(cut, size);
    assert.ok(moovAt && moov);
    const stss = find(moov, moovBox(moov), 'stss')[0];
    assert.ok(stss && moov.readUInt32BE(stss.offset + 16) > 1, 'the cut file starts with a predicted frame');
    const one = Buffer.alloc(4);
    one.writeUInt32BE(1);
    await file.write(one, 0, 4, moovAt.offset + stss.offset + 16);
  } finally {
    await file.close();
  }
  const ours = await inProcess(cut, 'video');
  assert.equal(ours?.firstFrameIsKeyframe, false);
  assert.equal((await probeTrackStats(cut, tools, 'video'))?.firstFrameIsKeyframe, false, 'ffprobe agrees');
});

test('AV1 is left to ffprobe; an MP4 the read follows starts no child at all (no ffprobe to start)', async () => {
  const av1 = join(dir, 'av1.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=15:d=1', '-c:v', 'libsvtav1', '-preset', '12', av1);
  assert.equal(await inProcess(av1, 'video'), undefined);
  const facts = await probeFile(av1, tools);
  assert.equal(facts.stats?.framesWritten, 15, 'ffprobe read it');

  const path = join(dir, 'h264-compacted.mp4');
  const withoutTools = await probeFile(path, { ffprobe: join(dir, 'no-ffprobe'), ffmpeg: join(dir, 'no-ffmpeg') });
  const withTools = await probeFile(path, tools);
  assert.deepEqual(withoutTools, withTools);
  assert.deepEqual(
    withoutTools.tracks.map((t) => `${t.kind}:${t.codec}:${t.width ?? t.sampleRate}`),
    ['video:h264:320', 'audio:aac:48000'],
    'the dominant size from the keyframes',
  );
});
