/**
 * Jittered capture times through the whole recorder: RTP whose frames sit 1–2 ms from a neighbour now and
 * then (on both sides of a frame period, so FFmpeg's rounding catches them whatever the start phase), plus
 * a 76/24 ms burst and a resolution change, replayed at their timestamps. A copy of the file taken while
 * recording (the crash-safe MP4 and WebM are readable at any moment) fails the literal check
 * `ffmpeg -v error -i F -f null -`; the finished recording passes it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Container, OutputAudioCodec } from '@recstack/contracts';
import { RtpReplay, decodeErrors, firstVideoFrameIsKeyframe, splitRfc4571, type RtpDump } from '@recstack/testkit';
import { audioTrack, delay, frameSizes, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';

const execTool = promisify(execFile);
const COLLISION = 'non monotonically increasing dts';
const FPS = 30;
const SECONDS = 12;
/** frame → ms added to its capture time; all after FFmpeg's analysis window (the first 20–40 frames) */
const SHIFTS_MS: Record<number, number> = { 90: 32, 120: -32, 150: 31, 180: -31, 200: 26, 201: 0 };
/** when the copy "before" is taken: the shifted frames are in, and the MP4 index has been rewritten */
const COPY_AT_MS = 7800;
/** stopped while RTP still flows, as a user does */
const STOP_AT_MS = 8500;

let dir: string;
const harnesses: RecorderHarness[] = [];
const dumps = new Map<string, RtpDump>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-jitter-'));
});

after(async () => {
  for (const h of harnesses) await h.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * RTP like Chromium's: OpenH264 (no VUI timing) stepping 320x180 → 640x360 after 4 s, or VP8, with Opus,
 * made once per codec with GStreamer and kept as RTP packets.
 */
async function dump(codec: 'h264' | 'vp8'): Promise<RtpDump> {
  const cached = dumps.get(codec);
  if (cached) return cached;
  const video = join(dir, `${codec}.rtp`);
  const audio = join(dir, `opus-${codec}.rtp`);
  const first = 4 * FPS;
  const raw = (w: number, h: number) => `video/x-raw,width=${w},height=${h},framerate=${FPS}/1`;
  const encoder =
    codec === 'h264'
      ? ['openh264enc', `gop-size=${FPS}`, '!', 'rtph264pay', 'pt=96', 'mtu=1200', 'config-interval=-1', 'aggregate-mode=zero-latency']
      : ['vp8enc', 'deadline=1', 'cpu-used=8', 'lag-in-frames=0', 'end-usage=cbr', 'target-bitrate=600000', `keyframe-max-dist=${FPS}`, '!', 'rtpvp8pay', 'pt=96', 'picture-id-mode=15-bit'];
  await execTool('gst-launch-1.0', [
    '-q', 'concat', 'name=steps',
    'videotestsrc', `num-buffers=${first}`, 'pattern=ball', '!', raw(320, 180), '!', 'steps.',
    'videotestsrc', `num-buffers=${SECONDS * FPS - first}`, 'pattern=smpte', '!', raw(640, 360), '!', 'steps.',
    'steps.', '!', 'videoconvert', '!', ...encoder, 'timestamp-offset=0', 'ssrc=286331153', '!', 'rtpstreampay', '!', 'filesink', `location=${video}`,
    'audiotestsrc', `num-buffers=${SECONDS * 50}`, 'samplesperbuffer=960', 'wave=sine', 'freq=440', 'volume=0.3', '!', 'audio/x-raw,rate=48000,channels=2', '!',
    'opusenc', 'bitrate=64000', 'frame-size=20', '!', 'rtpopuspay', 'pt=111', 'timestamp-offset=0', 'ssrc=572662306', '!', 'rtpstreampay', '!', 'filesink', `location=${audio}`,
  ]);
  const made = { video: splitRfc4571(await readFile(video)), audio: splitRfc4571(await readFile(audio)), seconds: SECONDS };
  dumps.set(codec, made);
  return made;
}

async function harness(engine: 'gstreamer' | 'ffmpeg'): Promise<RecorderHarness> {
  const h = await startRecorderHarness({ RECORDER_ENGINE: engine });
  harnesses.push(h);
  return h;
}

async function recordJittered(h: RecorderHarness, codec: 'h264' | 'vp8', container: Container, audioCodec: OutputAudioCodec) {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack(codec, videoPort), audioTrack(audioPort)], container, audioCodec);
  const events = h.watch(req.recordingId);
  await h.start(req);
  const replay = new RtpReplay(await dump(codec), { host: '127.0.0.1', videoPort, audioPort }, SECONDS, { videoFrameShiftMs: (frame) => SHIFTS_MS[frame] ?? 0 });
  await events.next('first-keyframe', 10_000);
  await delay(COPY_AT_MS);
  const written = join(h.dir, `${req.recordingId}.${container}`);
  const during = join(dir, `${req.recordingId}.during.${container}`);
  await copyFile(written, during);
  await delay(STOP_AT_MS - COPY_AT_MS);
  const stopAt = Date.now();
  const report = await h.stop(req.recordingId);
  const stopMs = Date.now() - stopAt;
  await replay.stop();
  return { report, during, file: join(h.dir, report.fileName), stopMs };
}

const CASES = [
  { engine: 'gstreamer', codec: 'h264', container: 'mp4', audioCodec: 'aac' },
  { engine: 'gstreamer', codec: 'vp8', container: 'webm', audioCodec: 'opus' },
  { engine: 'ffmpeg', codec: 'h264', container: 'mp4', audioCodec: 'aac' },
] as const;

for (const c of CASES) {
  test(`${c.engine}: ${c.codec} → ${c.container} with jittered capture times: fails the literal check while recording, passes it finished`, async () => {
    const h = harnesses.find((x) => x.env.RECORDER_ENGINE === c.engine) ?? (await harness(c.engine));
    const { report, during, file, stopMs } = await recordJittered(h, c.codec, c.container, c.audioCodec);
    const log = (msg: string) => h.service.logs.find((l) => l.msg === msg && l.recordingId === report.recordingId) ?? {};
    const { ms: _ms, msg: _msg, level: _l, time: _t, pid: _p, hostname: _h, name: _n, recordingId: _r, sessionId: _s, ...lattice } = log('video timestamps put on a lattice') as Record<string, unknown>;
    console.log(
      `${c.engine} ${c.codec}/${c.container}: stop → report ${stopMs} ms (child exit ${String(log('recording process ended').ms)} ms, ` +
        `retiming copy ${String(_ms)} ms), ${report.durationMs} ms recorded; lattice ${JSON.stringify(lattice)}`,
    );
    assert.match(await decodeErrors(during), new RegExp(COLLISION), 'the file as written collides (otherwise this test proves nothing)');
    // what the finalizer did before retiming: a plain copy (MP4: with the index moved to the front)
    const plain = during.replace(/\.during\./, '.plain.');
    await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', during, '-map', '0', '-c', 'copy', ...(c.container === 'mp4' ? ['-movflags', '+faststart'] : []), plain]);
    assert.match(await decodeErrors(plain), new RegExp(COLLISION), 'a plain copy keeps the collision');
    assert.equal(report.status, 'done', JSON.stringify(report));
    assert.equal(report.decodesCleanly, true);
    assert.equal(await decodeErrors(file), '');
    assert.equal(await firstVideoFrameIsKeyframe(file), true);
    // the recording starts at the first keyframe, which the first-keyframe event reports a little later
    assert.ok((report.durationMs ?? 0) >= STOP_AT_MS - 500 && (report.durationMs ?? 0) <= STOP_AT_MS + 2000, `duration ${report.durationMs} ms`);
    if (c.engine === 'gstreamer') {
      // Chromium-like resolution change, decoded across (GStreamer writes H264 as avc3 with in-band SPS)
      assert.deepEqual((await frameSizes(file)).sort(), ['320x180', '640x360']);
    }
  });
}
