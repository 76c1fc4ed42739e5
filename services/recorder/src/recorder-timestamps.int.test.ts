/**
 * Frames keep their capture times: every video frame in the finished file carries the RTP timestamp the
 * recorder received for it, offset by one constant (the file starts at zero), within one tick of the
 * stream's time base. RTP like Chromium's (OpenH264 without VUI timing stepping 320x180 → 640x360, or
 * VP8, with Opus), each frame's capture time moved by an irregular jitter of up to ±9 ms and a few frames
 * by ±26-32 ms (1-2 ms from a neighbour), replayed at those timestamps through the real recorder.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Container, OutputAudioCodec } from '@recstack/contracts';
import { RtpReplay, decodeErrors, firstVideoFrameIsKeyframe, shiftVideoFrames, splitRfc4571, type RtpDump } from '@recstack/testkit';
import { audioTrack, delay, frameSizes, rtpPorts, startRecorderHarness, startRequest, videoTrack, type RecorderHarness } from './testing/recorder-harness.js';

const execTool = promisify(execFile);
const FPS = 30;
const SECONDS = 10;
const STOP_AT_MS = 7000;
/** frame → extra ms on its capture time (after FFmpeg's analysis window, so the guessed rate is 30) */
const SHIFTS_MS: Record<number, number> = { 90: 32, 120: -32, 150: 31, 180: -31, 200: 26 };

/**
 * Deterministic jitter: every frame from the 40th moved by -9..+9 ms, never past a neighbour (the
 * neighbours of a frame in SHIFTS_MS stay put: it sits 1-2 ms from one of them).
 */
function shiftMs(frame: number): number {
  if (frame < 40) return 0;
  const big = SHIFTS_MS[frame];
  if (big !== undefined) return big;
  if (SHIFTS_MS[frame - 1] !== undefined || SHIFTS_MS[frame + 1] !== undefined) return 0;
  return ((frame * 7919) % 19) - 9;
}

let dir: string;
const harnesses: RecorderHarness[] = [];
const dumps = new Map<string, RtpDump>();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-capture-times-'));
});

after(async () => {
  for (const h of harnesses) await h.close();
  await rm(dir, { recursive: true, force: true });
});

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
      : [
          'vp8enc',
          'deadline=1',
          'cpu-used=8',
          'lag-in-frames=0',
          'end-usage=cbr',
          'target-bitrate=600000',
          `keyframe-max-dist=${FPS}`,
          '!',
          'rtpvp8pay',
          'pt=96',
          'picture-id-mode=15-bit',
        ];
  await execTool('gst-launch-1.0', [
    '-q',
    'concat',
    'name=steps',
    'videotestsrc',
    `num-buffers=${first}`,
    'pattern=ball',
    '!',
    raw(320, 180),
    '!',
    'steps.',
    'videotestsrc',
    `num-buffers=${SECONDS * FPS - first}`,
    'pattern=smpte',
    '!',
    raw(640, 360),
    '!',
    'steps.',
    'steps.',
    '!',
    'videoconvert',
    '!',
    ...encoder,
    'timestamp-offset=0',
    'ssrc=286331153',
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${video}`,
    'audiotestsrc',
    `num-buffers=${SECONDS * 50}`,
    'samplesperbuffer=960',
    'wave=sine',
    'freq=440',
    'volume=0.3',
    '!',
    'audio/x-raw,rate=48000,channels=2',
    '!',
    'opusenc',
    'bitrate=64000',
    'frame-size=20',
    '!',
    'rtpopuspay',
    'pt=111',
    'timestamp-offset=0',
    'ssrc=572662306',
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${audio}`,
  ]);
  const made = { video: splitRfc4571(await readFile(video)), audio: splitRfc4571(await readFile(audio)), seconds: SECONDS };
  dumps.set(codec, made);
  return made;
}

/** One RTP timestamp per video frame (the packets of a frame share it), in sending order, 90 kHz. */
function frameTimestamps(packets: readonly Buffer[]): number[] {
  const out: number[] = [];
  for (const p of packets) {
    const ts = p.readUInt32BE(4);
    if (out[out.length - 1] !== ts) out.push(ts);
  }
  return out;
}

/** The video packets of a file as ffprobe lists them: pts in the stream's time base, and that time base. */
async function filePts(path: string): Promise<{ pts: number[]; timeBase: [number, number] }> {
  const { stdout } = await execTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=time_base:packet=pts', '-of', 'json', path], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const json = JSON.parse(stdout) as { streams?: Array<{ time_base?: string }>; packets?: Array<{ pts?: number }> };
  const [num, den] = (json.streams?.[0]?.time_base ?? '').split('/').map(Number);
  assert.ok(num && den, `time base of ${path}: ${stdout.slice(0, 200)}`);
  const pts = (json.packets ?? []).map((p) => p.pts).filter((p): p is number => typeof p === 'number');
  // packets come in decode order; without B-frames that is presentation order (checked below)
  return { pts, timeBase: [num, den] };
}

/**
 * Where the file's frames sit in the RTP frames: the alignment (first file frame = RTP frame `first`) and
 * the one offset, chosen so that every frame matches; the worst deviation in ticks of the time base.
 */
function align(rtp: readonly number[], pts: readonly number[], timeBase: [number, number]) {
  const ticksPerRtp = timeBase[1] / (timeBase[0] * 90_000);
  let best: { first: number; worstTicks: number } | undefined;
  for (let first = 0; first + pts.length <= rtp.length; first++) {
    const offset = (pts[0] ?? 0) - ((rtp[first] ?? 0) - (rtp[0] ?? 0)) * ticksPerRtp;
    let worst = 0;
    for (let i = 0; i < pts.length; i++) worst = Math.max(worst, Math.abs((pts[i] ?? 0) - (((rtp[first + i] ?? 0) - (rtp[0] ?? 0)) * ticksPerRtp + offset)));
    if (!best || worst < best.worstTicks) best = { first, worstTicks: worst };
  }
  return best;
}

/**
 * GStreamer (rtpbin in `buffer-mode=synced`) writes RTP timestamps as they came: one tick. FFmpeg's RTP
 * demuxer maps them through the NTP/RTP pair of each RTCP sender report instead: the frames before the
 * first report (the replay sends it right after the first frame) sit on another base, and every later
 * frame is as exact as the reports agree with each other (the replay's, to about a millisecond). So for
 * the FFmpeg engine: from the second frame on, within 1 ms. (A known limit of that engine, see its README.)
 */
const CASES = [
  { engine: 'gstreamer', codec: 'h264', container: 'mp4', audioCodec: 'aac', skipFrames: 0, toleranceMs: 0 },
  { engine: 'gstreamer', codec: 'vp8', container: 'webm', audioCodec: 'opus', skipFrames: 0, toleranceMs: 0 },
  { engine: 'ffmpeg', codec: 'h264', container: 'mp4', audioCodec: 'aac', skipFrames: 1, toleranceMs: 1 },
] as const;

for (const c of CASES) {
  const bound = c.toleranceMs > 0 ? `from frame ${c.skipFrames + 1} on, within ${c.toleranceMs} ms` : 'within one tick';
  test(`${c.engine}: ${c.codec} → ${c.container}: every video frame keeps its RTP timestamp (one offset, ${bound})`, async () => {
    let h = harnesses.find((x) => x.env.RECORDER_ENGINE === c.engine);
    if (!h) {
      h = await startRecorderHarness({ RECORDER_ENGINE: c.engine });
      harnesses.push(h);
    }
    const recorded = await record(h, c.codec, c.container, c.audioCodec);
    const { report, file } = recorded;
    assert.equal(report.status, 'done', JSON.stringify(report));
    assert.equal(await decodeErrors(file), '', 'the check with -fps_mode vfr prints no decoder error');
    assert.equal(await firstVideoFrameIsKeyframe(file), true);

    const sent = frameTimestamps(shiftVideoFrames((await dump(c.codec)).video, shiftMs)).slice(0, recorded.framesSent);
    const { pts: allPts, timeBase } = await filePts(file);
    const pts = allPts.slice(c.skipFrames);
    assert.ok(
      pts.every((p, i) => i === 0 || p > (pts[i - 1] ?? 0)),
      'presentation order is decode order (no B-frames), strictly increasing',
    );
    // the recording begins at the first keyframe media's request brings, and ends at the stop
    assert.ok(pts.length >= (STOP_AT_MS / 1000 - 1.5) * FPS, `${pts.length} frames in the file, ${sent.length} sent`);
    const fit = align(sent, pts, timeBase);
    assert.ok(fit, `the ${pts.length} frames of the file fit within the ${sent.length} sent`);
    console.log(
      `${c.engine} ${c.codec}/${c.container}: ${pts.length} frames from RTP frame ${fit.first}, time base ${timeBase.join('/')}, worst ${fit.worstTicks.toFixed(2)} ticks`,
    );
    const tolerance = Math.max(1, (c.toleranceMs / 1000) * (timeBase[1] / timeBase[0]));
    assert.ok(
      fit.worstTicks <= tolerance,
      `every frame within ${tolerance} tick(s) of its RTP timestamp (worst ${fit.worstTicks.toFixed(2)} ticks of ${timeBase.join('/')})`,
    );
    if (c.engine === 'gstreamer') assert.deepEqual((await frameSizes(file)).sort(), ['320x180', '640x360']);
  });
}

async function record(h: RecorderHarness, codec: 'h264' | 'vp8', container: Container, audioCodec: OutputAudioCodec) {
  const [videoPort = 0, audioPort = 0] = await rtpPorts(2);
  const req = startRequest([videoTrack(codec, videoPort), audioTrack(audioPort)], container, audioCodec);
  const events = h.watch(req.recordingId);
  await h.start(req);
  const replay = new RtpReplay(await dump(codec), { host: '127.0.0.1', videoPort, audioPort }, SECONDS, { videoFrameShiftMs: shiftMs });
  await events.next('first-keyframe', 10_000);
  await delay(STOP_AT_MS);
  const report = await h.stop(req.recordingId);
  await replay.stop();
  // frames sent before the stop: the file cannot hold later ones
  const framesSent = Math.ceil(((await replay.done).seconds + 0.5) * FPS);
  return { report, file: join(h.dir, report.fileName), framesSent };
}
