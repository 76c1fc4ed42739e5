import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { splitRfc4571 } from './rtp-replay.js';

/**
 * Media for light publishers: made ONCE with GStreamer's test sources (a moving test card and a tone),
 * encoded and packetized as RTP, kept as RFC 4571 files, then replayed by any number of publishers in a
 * loop. Encoding happens once per (codec, size, rate, bitrate), never per publisher: that is what keeps a
 * replay publisher at a few per cent of a core.
 */

export type ReplayVideoCodec = 'h264' | 'vp8' | 'vp9';

export interface ReplayMediaSpec {
  codec: ReplayVideoCodec;
  width: number;
  height: number;
  fps: number;
  kbps: number;
  /** seconds between keyframes in the file */
  keyframeSeconds: number;
  /** length of the loop */
  seconds: number;
}

/** One video frame of the loop: its packets and whether a decoder can start at it. */
export interface ReplayFrame {
  /** RTP timestamp relative to the loop's first frame (90 kHz) */
  ts: number;
  keyframe: boolean;
  packets: Buffer[];
}

export interface ReplayAudioFrame {
  /** relative to the loop's first packet (48 kHz) */
  ts: number;
  packet: Buffer;
}

export interface ReplayMedia {
  spec: ReplayMediaSpec;
  video: ReplayFrame[];
  audio: ReplayAudioFrame[];
  /** the loop's length in 90 kHz ticks (last frame + one frame duration): timestamps continue across loops */
  videoLoopTicks: number;
  audioLoopTicks: number;
  /** indexes into `video` of the frames a decoder can start at */
  keyframes: number[];
}

export const REPLAY_VIDEO_PT = 96;
export const REPLAY_AUDIO_PT = 111;

function videoArgs(spec: ReplayMediaSpec, out: string): string[] {
  const frames = Math.round(spec.seconds * spec.fps);
  const keyint = Math.max(1, Math.round(spec.keyframeSeconds * spec.fps));
  const caps = `video/x-raw,width=${spec.width},height=${spec.height},framerate=${spec.fps}/1`;
  const encoder = (() => {
    switch (spec.codec) {
      case 'h264':
        // like Chromium's encoder: one slice per frame, no AUDs, keyframes only when due (no scene-cut I-frames)
        return [
          'x264enc',
          `bitrate=${spec.kbps}`,
          'speed-preset=veryfast',
          'tune=zerolatency',
          'aud=false',
          'threads=1',
          'option-string=scenecut=0',
          `key-int-max=${keyint}`,
          '!',
          'video/x-h264,profile=constrained-baseline',
          '!',
          'rtph264pay',
          `pt=${REPLAY_VIDEO_PT}`,
          'mtu=1200',
          'config-interval=-1',
          'aggregate-mode=zero-latency',
        ];
      case 'vp8':
        return [
          'vp8enc',
          'deadline=1',
          'cpu-used=4',
          'lag-in-frames=0',
          'end-usage=cbr',
          `target-bitrate=${spec.kbps * 1000}`,
          `keyframe-max-dist=${keyint}`,
          '!',
          'rtpvp8pay',
          `pt=${REPLAY_VIDEO_PT}`,
          'mtu=1200',
          'picture-id-mode=15-bit',
        ];
      case 'vp9':
        return [
          'vp9enc',
          'deadline=1',
          'cpu-used=6',
          'lag-in-frames=0',
          'end-usage=cbr',
          `target-bitrate=${spec.kbps * 1000}`,
          `keyframe-max-dist=${keyint}`,
          '!',
          'rtpvp9pay',
          `pt=${REPLAY_VIDEO_PT}`,
          'mtu=1200',
          'picture-id-mode=15-bit',
        ];
    }
  })();
  return [
    '-q',
    'videotestsrc',
    `num-buffers=${frames}`,
    'pattern=smpte',
    'horizontal-speed=3',
    '!',
    caps,
    '!',
    ...encoder,
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${out}`,
  ];
}

function audioArgs(seconds: number, out: string): string[] {
  return [
    '-q',
    'audiotestsrc',
    `num-buffers=${Math.round(seconds * 50)}`,
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
    `pt=${REPLAY_AUDIO_PT}`,
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${out}`,
  ];
}

export function replayMediaName(spec: ReplayMediaSpec): string {
  return `${spec.codec}-${spec.width}x${spec.height}-${spec.fps}fps-${spec.kbps}k-kf${spec.keyframeSeconds}s-${spec.seconds}s`;
}

/** Makes the loop's files in `dir` unless they are there already, and reads them. */
export async function ensureReplayMedia(dir: string, spec: ReplayMediaSpec, log: (line: string) => void = () => undefined): Promise<ReplayMedia> {
  await mkdir(dir, { recursive: true });
  const video = join(dir, `${replayMediaName(spec)}.rtp`);
  const audio = join(dir, `opus-48k-64k-${spec.seconds}s.rtp`);
  await gstFileOnce(
    video,
    (tmp) => videoArgs(spec, tmp),
    (path) => log(`making the publishers' media ${path} with GStreamer's test sources (once)`),
  );
  await gstFileOnce(
    audio,
    (tmp) => audioArgs(spec.seconds, tmp),
    (path) => log(`making the publishers' media ${path} with GStreamer's test sources (once)`),
  );
  return parseReplayMedia(spec, splitRfc4571(await readFile(video)), splitRfc4571(await readFile(audio)));
}

/** Groups video packets into frames (by timestamp), finds the keyframes and the loop lengths. */
export function parseReplayMedia(spec: ReplayMediaSpec, videoPackets: readonly Buffer[], audioPackets: readonly Buffer[]): ReplayMedia {
  if (videoPackets.length === 0 || audioPackets.length === 0) throw new Error('the replay media holds no video or no audio packet');
  const firstVideoTs = rtpTs(videoPackets[0] as Buffer);
  const video: ReplayFrame[] = [];
  for (const packet of videoPackets) {
    const ts = (rtpTs(packet) - firstVideoTs) >>> 0;
    let frame = video[video.length - 1];
    if (!frame || frame.ts !== ts) {
      frame = { ts, keyframe: false, packets: [] };
      video.push(frame);
    }
    if (frame.packets.length === 0 && startsKeyframe(spec.codec, packet)) frame.keyframe = true;
    frame.packets.push(packet);
  }
  const firstAudioTs = rtpTs(audioPackets[0] as Buffer);
  const audio = audioPackets.map((packet) => ({ ts: (rtpTs(packet) - firstAudioTs) >>> 0, packet }));
  const keyframes = video.flatMap((f, i) => (f.keyframe ? [i] : []));
  if (keyframes[0] !== 0) throw new Error(`the ${spec.codec} replay media does not start with a keyframe`);
  return {
    spec,
    video,
    audio,
    keyframes,
    videoLoopTicks: Math.max((video[video.length - 1]?.ts ?? 0) + 1, Math.round((video.length * 90_000) / spec.fps)),
    // audio is 20 ms packets: the loop continues one packet after the last
    audioLoopTicks: (audio[audio.length - 1]?.ts ?? 0) + 960,
  };
}

function rtpTs(packet: Buffer): number {
  if (packet.length < 12) throw new Error('an RTP packet shorter than its header');
  return packet.readUInt32BE(4);
}

/** Offset of the RTP payload: after CSRCs and the header extension. */
export function rtpPayloadOffset(packet: Buffer): number {
  const csrcs = packet[0]! & 0x0f;
  let offset = 12 + 4 * csrcs;
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  return offset;
}

/** Whether the first packet of a frame begins a frame a decoder can start at (RFC 6184, RFC 7741, VP9 RTP). */
export function startsKeyframe(codec: ReplayVideoCodec, packet: Buffer): boolean {
  const p = packet.subarray(rtpPayloadOffset(packet));
  if (p.length < 2) return false;
  switch (codec) {
    case 'h264': {
      const type = p[0]! & 0x1f;
      if (type === 5 || type === 7) return true;
      if (type === 24) {
        // STAP-A: [2-byte size][NAL]...
        for (let o = 1; o + 2 < p.length; o += 2 + p.readUInt16BE(o)) {
          const t = p[o + 2]! & 0x1f;
          if (t === 5 || t === 7) return true;
        }
        return false;
      }
      if (type === 28) return (p[1]! & 0x80) !== 0 && ((p[1]! & 0x1f) === 5 || (p[1]! & 0x1f) === 7);
      return false;
    }
    case 'vp8': {
      // payload descriptor: X bit → extension byte; I → picture id (1 or 2 bytes); L, T/K bytes
      let o = 1;
      const start = (p[0]! & 0x10) !== 0 && (p[0]! & 0x07) === 0;
      if (p[0]! & 0x80) {
        const x = p[1]!;
        o = 2;
        if (x & 0x80) o += p[o]! & 0x80 ? 2 : 1;
        if (x & 0x40) o += 1;
        if (x & 0x30) o += 1;
      }
      return start && o < p.length && (p[o]! & 0x01) === 0;
    }
    case 'vp9': {
      // flexible/non-flexible descriptor: P (inter-picture predicted) clear and B (start of frame) set
      const b = p[0]!;
      return (b & 0x40) === 0 && (b & 0x08) !== 0;
    }
  }
}

/**
 * Writes `path` with a gst-launch-1.0 pipeline (`args` writes to the temporary file it is given, renamed to
 * `path` once complete) unless a non-empty `path` is there already; `onMake` is told when it is made.
 */
export async function gstFileOnce(path: string, args: (tmp: string) => readonly string[], onMake: (path: string) => void = () => undefined): Promise<void> {
  if (await exists(path)) return;
  onMake(path);
  await runGst(args(`${path}.tmp`));
  await rename(`${path}.tmp`, path);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.size > 0,
    () => false,
  );
}

function runGst(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('gst-launch-1.0', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) return resolve();
      const out = args.find((a) => a.startsWith('location='))?.slice('location='.length);
      void (out ? rm(out, { force: true }) : Promise.resolve()).then(() => reject(new Error(`gst-launch-1.0 exited with ${code}: ${stderr.trim()}`)));
    });
  });
}
