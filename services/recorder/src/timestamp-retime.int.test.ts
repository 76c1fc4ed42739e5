/**
 * The retiming copy against the real FFmpeg 5.1: files whose video timestamps make the literal check
 * `ffmpeg -v error -i F -f null -` print "non monotonically increasing dts" (frames 1–2 ms apart, on both
 * sides of a tick, so it fails whatever the start phase), before and after.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Container } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import { decodeErrors } from '@recstack/testkit';
import { finalizeFile } from './file-finalizer.js';
import { planRecording } from './recording-plan.js';
import { blankVideoDefaultDuration } from './timestamp-matroska.js';
import { retime, UNITS_PER_SECOND } from './timestamp-lattice.js';
import { parseFramecrc, rescale } from './timestamp-probe.js';
import { retimeVideo } from './timestamp-retime.js';

const execTool = promisify(execFile);
const logger = createLogger('timestamp-test', 'silent');
const COLLISION = 'non monotonically increasing dts';
const FPS = 30;
/** frames moved to 1–2 ms from a neighbour, after FFmpeg's analysis window (the first 20–40 frames) */
const SHIFTS_MS: Record<number, number> = { 60: 32, 90: -32, 120: 31, 150: -31 };
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recstack-retime-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ffmpeg(args: string[]): Promise<void> {
  await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args], { maxBuffer: 16 * 1024 * 1024 });
}

/** the jitter as a setts expression in the output's units */
function jitterExpression(unitsPerSecond: number): string {
  const cases = Object.entries(SHIFTS_MS).reduceRight((otherwise, [frame, shift]) => `if(eq(N\\,${frame})\\,${Math.round((shift * unitsPerSecond) / 1000)}\\,${otherwise})`, '0');
  return `setts=ts=PTS+${cases}`;
}

/** Muxes `video` (any container) with a 48 kHz sine (the recorder's rate), its video shifted by SHIFTS_MS; audio starts 13 ms late. */
async function jittered(video: string[], out: string, container: Container): Promise<string> {
  const path = join(dir, out);
  const units = container === 'mp4' ? 90_000 : 1000;
  const audio = container === 'mp4' ? ['-c:a', 'aac'] : ['-c:a', 'libopus'];
  const timescale = container === 'mp4' ? ['-video_track_timescale', '90000'] : [];
  await ffmpeg([
    ...video, '-itsoffset', '0.013', '-f', 'lavfi', '-i', 'sine=f=440:d=6:sample_rate=48000', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', ...audio, '-shortest',
    ...timescale, '-bsf:v', jitterExpression(units), '-f', container === 'mkv' ? 'matroska' : container, path,
  ]);
  return path;
}

/** A lossless-ish source encoded with FFmpeg into Matroska (millisecond timestamps, 30 fps). */
async function encoded(name: string, codec: string[], seconds = 6, size = '320x240'): Promise<string[]> {
  const path = join(dir, `${name}.src.mkv`);
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${FPS}:d=${seconds}`, '-pix_fmt', 'yuv420p', ...codec, '-g', String(FPS), path]);
  return ['-i', path];
}

/** H264 from OpenH264 (as Chromium sends it: VUI without timing), an Annex B stream per resolution. */
async function openh264(name: string, steps: Array<{ size: [number, number]; frames: number }>): Promise<string[]> {
  const parts: Buffer[] = [];
  for (const [i, step] of steps.entries()) {
    const part = join(dir, `${name}-${i}.h264`);
    await execTool('gst-launch-1.0', [
      '-q', 'videotestsrc', `num-buffers=${step.frames}`, 'pattern=ball', '!', `video/x-raw,width=${step.size[0]},height=${step.size[1]},framerate=${FPS}/1`, '!',
      'openh264enc', `gop-size=${FPS}`, '!', 'h264parse', '!', 'video/x-h264,stream-format=byte-stream,alignment=au', '!', 'filesink', `location=${part}`,
    ]);
    parts.push(await readFile(part));
  }
  const stream = join(dir, `${name}.h264`);
  const file = await open(stream, 'w');
  await file.write(Buffer.concat(parts));
  await file.close();
  // an Annex B stream has no timestamps: Matroska gives it 30 fps ones
  const path = join(dir, `${name}.src.mkv`);
  await ffmpeg(['-framerate', String(FPS), '-f', 'h264', '-i', stream, '-c', 'copy', path]);
  return ['-i', path];
}

/** H264 from x264 (VUI timing 30 fps) as the recorder's mp4mux writes it: avc3, parameter sets in-band only. */
async function x264Avc3(name: string): Promise<string[]> {
  const path = join(dir, `${name}.src.mp4`);
  await execTool('gst-launch-1.0', [
    '-q', '-e', 'videotestsrc', `num-buffers=${6 * FPS}`, 'pattern=ball', '!', `video/x-raw,width=320,height=240,framerate=${FPS}/1`, '!',
    'x264enc', 'tune=zerolatency', 'speed-preset=ultrafast', `key-int-max=${FPS}`, '!', 'h264parse', '!', 'video/x-h264,stream-format=avc3,alignment=au', '!',
    'mp4mux', '!', 'filesink', `location=${path}`,
  ]);
  return ['-i', path];
}

interface Packet {
  pts: number;
  key: boolean;
  crc: string;
}

async function packets(path: string, stream: 'v' | 'a'): Promise<{ timeBase: [number, number]; list: Packet[] }> {
  const { stdout } = await execTool('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', `0:${stream}:0`, '-c', 'copy', '-f', 'framecrc', '-'], { maxBuffer: 64 * 1024 * 1024 });
  const parsed = parseFramecrc(stdout);
  assert.ok(parsed);
  const rows = stdout.split('\n').filter((l) => /^0,/.test(l)).map((l) => l.split(',').map((f) => f.trim()));
  return {
    timeBase: parsed.timeBase,
    list: rows.map((r) => ({ pts: Number(r[2]), crc: r[5] as string, key: !(r[6] ?? '').startsWith('F=0x0') })),
  };
}

/** MP4 top-level boxes in file order */
async function topLevelBoxes(path: string): Promise<string[]> {
  const data = await readFile(path);
  const boxes: string[] = [];
  for (let at = 0; at + 8 <= data.length; ) {
    const size = data.readUInt32BE(at);
    boxes.push(data.toString('latin1', at + 4, at + 8));
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

async function probeRates(path: string): Promise<string> {
  const { stdout } = await execTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', '-of', 'csv=p=0', path]);
  return stdout.trim();
}

async function widths(path: string): Promise<Set<number>> {
  const { stdout } = await execTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=width', '-of', 'csv=p=0', path], { maxBuffer: 16 * 1024 * 1024 });
  return new Set(stdout.split('\n').filter(Boolean).map(Number));
}

interface Case {
  name: string;
  input: () => Promise<string[]>;
  /** container of the jittered input */
  from: Container;
  /** container requested (the copy may change it, as the finalizer's remux does) */
  to: Container;
  codec: string;
  /** the SPS announces a rate: the copy rewrites the VUI tick rate */
  tickRate: boolean;
  expectWidths?: number[];
}

const CASES: Case[] = [
  { name: 'H264 (OpenH264, no VUI timing) in MP4', input: () => openh264('oh', [{ size: [320, 240], frames: 180 }]), from: 'mp4', to: 'mp4', codec: 'h264', tickRate: false },
  {
    name: 'H264 with a resolution change (in-band SPS) in MP4',
    input: () => openh264('ohrc', [{ size: [320, 180], frames: 75 }, { size: [640, 360], frames: 105 }]),
    from: 'mp4',
    to: 'mp4',
    codec: 'h264',
    tickRate: false,
    expectWidths: [320, 640],
  },
  { name: 'H264 (x264, VUI timing 30 fps) in Matroska', input: () => encoded('x264', ['-c:v', 'libx264', '-bf', '0', '-preset', 'ultrafast']), from: 'mkv', to: 'mkv', codec: 'h264', tickRate: true },
  { name: 'H264 (x264) written as MP4, copied to Matroska', input: () => encoded('x264b', ['-c:v', 'libx264', '-bf', '0', '-preset', 'ultrafast']), from: 'mp4', to: 'mkv', codec: 'h264', tickRate: true },
  { name: 'H264 (x264) written as avc3 MP4 by mp4mux, copied to Matroska', input: () => x264Avc3('x264avc3'), from: 'mp4', to: 'mkv', codec: 'h264', tickRate: true },
  { name: 'VP8 in WebM', input: () => encoded('vp8', ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k']), from: 'webm', to: 'webm', codec: 'vp8', tickRate: false },
  { name: 'VP9 in WebM', input: () => encoded('vp9w', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k']), from: 'webm', to: 'webm', codec: 'vp9', tickRate: false },
  { name: 'VP9 written as Matroska, copied to MP4', input: () => encoded('vp9', ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k']), from: 'mkv', to: 'mp4', codec: 'vp9', tickRate: false },
  { name: 'AV1 in Matroska', input: () => encoded('av1', ['-c:v', 'libsvtav1', '-preset', '12', '-b:v', '300k'], 6, '192x144'), from: 'mkv', to: 'mkv', codec: 'av1', tickRate: false },
  { name: 'AV1 written as Matroska, copied to MP4', input: () => encoded('av1b', ['-c:v', 'libsvtav1', '-preset', '12', '-b:v', '300k'], 6, '192x144'), from: 'mkv', to: 'mp4', codec: 'av1', tickRate: false },
];

for (const c of CASES) {
  test(`${c.name}: the literal check fails before and prints nothing after`, async () => {
    const input = await jittered(await c.input(), `${c.name.replace(/\W+/g, '-')}.in.${c.from === 'mkv' ? 'mkv' : c.from}`, c.from);
    assert.match(await decodeErrors(input), new RegExp(COLLISION), 'the jittered input collides (otherwise this test proves nothing)');

    const output = input.replace(/\.in\.\w+$/, `.out.${c.to}`);
    const outcome = await retimeVideo({ input, output, container: c.to, videoCodec: c.codec, audioLeadSamples: 0, ffmpeg: 'ffmpeg', budgetMs: 60_000, logger });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.confirmed, true, 'FFmpeg rounds to the lattice rate');
    assert.equal(outcome.tickRateSet, c.tickRate);
    assert.equal(await decodeErrors(output), '');
    assert.equal(await probeRates(output), c.to === 'mp4' ? '60/1' : '100/1');

    // the copy did exactly what the TypeScript model predicts, and nothing else
    const kind = c.to === 'mp4' ? 'mp4' : 'matroska';
    const [vin, vout] = [await packets(input, 'v'), await packets(output, 'v')];
    const times = vin.list.map((p) => rescale(p.pts, vin.timeBase, UNITS_PER_SECOND[kind]));
    const predicted = retime(times, c.to === 'mp4' ? 1500 : 10).times;
    const actual = vout.list.map((p) => rescale(p.pts, vout.timeBase, UNITS_PER_SECOND[kind]));
    assert.deepEqual(actual.map((t) => t - (actual[0] as number)), predicted.map((t) => t - (predicted[0] as number)));
    assert.deepEqual(vout.list.map((p) => p.key), vin.list.map((p) => p.key), 'keyframe flags kept');
    if (!c.tickRate) assert.deepEqual(vout.list.map((p) => p.crc), vin.list.map((p) => p.crc), 'video payloads untouched');
    assert.ok(outcome.maxShiftMs <= 17, `frames moved at most one lattice step (${outcome.maxShiftMs} ms)`);

    // audio: the same packets, at the same times relative to the first video frame (which never moves) as
    // in a plain copy (FFmpeg's Matroska muxer itself moves Opus by its 6.5 ms pre-skip)
    const plain = output.replace(/\.out\./, '.plain.');
    await ffmpeg(['-i', input, '-map', '0', '-c', 'copy', '-f', c.to === 'mkv' ? 'matroska' : c.to, plain]);
    assert.match(await decodeErrors(plain), new RegExp(COLLISION), 'a plain copy (the finalizer before retiming) does not help');
    const [ain, aout, vplain, aplain] = [await packets(input, 'a'), await packets(output, 'a'), await packets(plain, 'v'), await packets(plain, 'a')];
    assert.deepEqual(aout.list.map((p) => p.crc), ain.list.map((p) => p.crc), 'audio packets untouched');
    const rel = (a: { timeBase: [number, number]; list: Packet[] }, v: { timeBase: [number, number]; list: Packet[] }) =>
      a.list.map((p) => rescale(p.pts, a.timeBase, 1000) - rescale((v.list[0] as Packet).pts, v.timeBase, 1000));
    const drift = rel(aout, vout).map((t, i) => Math.abs(t - (rel(aplain, vplain)[i] as number)));
    assert.ok(Math.max(...drift) <= 1, `audio stays where a plain copy puts it relative to the video (${Math.max(...drift)} ms)`);

    if (c.to === 'mp4') {
      const boxes = await topLevelBoxes(output);
      assert.ok(boxes.indexOf('moov') < boxes.indexOf('mdat'), `index at the front: ${boxes.join(' ')}`);
    } else {
      const head = await readFile(output);
      assert.equal(blankVideoDefaultDuration(head), 0, 'no video DefaultDuration left');
    }
    if (c.expectWidths) assert.deepEqual([...(await widths(output))].sort((a, b) => a - b), c.expectWidths);
  });
}

test('the finalizer retimes a clean WebM (which needed no copy before) and compacts an MP4 in the same copy', async () => {
  for (const container of ['webm', 'mp4'] as const) {
    const from = container === 'mp4' ? 'mp4' : 'webm';
    const codec = container === 'mp4' ? ['-c:v', 'libx264', '-bf', '0', '-preset', 'ultrafast'] : ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8'];
    const plan = planRecording(
      {
        recordingId: `rec_final${container}`,
        sessionId: 'ses_test',
        container,
        audioCodec: container === 'mp4' ? 'aac' : 'opus',
        tracks: [
          container === 'mp4'
            ? { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000, fmtp: 'packetization-mode=1' }
            : { kind: 'video', codec: 'vp8', payloadType: 96, clockRate: 90000, port: 50000 },
          { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, port: 50002 },
        ],
      },
      { engine: 'gstreamer', recordingsDir: dir, bindAddress: '127.0.0.1', maxDurationMs: 60_000 },
    );
    const written = await jittered(await encoded(`final-${container}`, codec), `final.in.${from}`, from);
    await rename(written, plan.writePath);
    assert.match(await decodeErrors(plan.writePath), new RegExp(COLLISION));
    const outcome = await finalizeFile(plan, true, 'ffmpeg', logger);
    assert.deepEqual(outcome, { path: plan.outputPath, action: container === 'mp4' ? 'compacted' : 'retimed' });
    assert.equal(await decodeErrors(plan.outputPath), '');
  }
});

test("the finalizer moves GStreamer's AAC 1600 samples earlier against the video, into MP4 and (remuxed) Matroska", async () => {
  const source = await x264Avc3('lead');
  for (const container of ['mp4', 'mkv'] as const) {
    const plan = planRecording(
      {
        recordingId: `rec_lead${container}`,
        sessionId: 'ses_test',
        container,
        audioCodec: 'aac',
        tracks: [
          { kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50000, fmtp: 'packetization-mode=1' },
          { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, port: 50002 },
        ],
      },
      { engine: 'gstreamer', recordingsDir: dir, bindAddress: '127.0.0.1', maxDurationMs: 60_000 },
    );
    assert.equal(plan.audioLeadSamples, 1600);
    const written = await jittered(source, `lead-${container}.in.mp4`, 'mp4');
    const before = await audioAfterFirstVideoMs(written);
    await rename(written, plan.writePath);
    const outcome = await finalizeFile(plan, true, 'ffmpeg', logger);
    assert.equal(outcome.path, plan.outputPath, JSON.stringify(outcome));
    assert.equal(await decodeErrors(plan.outputPath), '', 'the literal check passes');
    const moved = before - (await audioAfterFirstVideoMs(plan.outputPath));
    assert.ok(Math.abs(moved - (1600 / 48)) <= 1.5, `audio moved ${moved.toFixed(1)} ms earlier, 33.3 expected`);
  }
});

/** where the first audio packet sits relative to the first video frame, in ms */
async function audioAfterFirstVideoMs(path: string): Promise<number> {
  const [v, a] = [await packets(path, 'v'), await packets(path, 'a')];
  return rescale((a.list[0] as Packet).pts, a.timeBase, 1000) - rescale((v.list[0] as Packet).pts, v.timeBase, 1000);
}
