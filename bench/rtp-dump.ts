import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gstFileOnce, splitRfc4571, type RtpDump } from '@recstack/testkit';

/**
 * The benchmark's input, made once with GStreamer's test sources and kept: H264 1280x720 at 30 fps and
 * about 1.5 Mbit/s, and Opus 48 kHz stereo at 64 kbit/s, already packetized as RTP (payload types 96 and
 * 109, the seed's) and stored as RFC 4571 streams (a 2-byte length before each packet: `rtpstreampay`).
 * Every run replays the very same packets, so every recorder gets byte-identical input.
 */

export const VIDEO_PT = 96;
export const AUDIO_PT = 109;
const VIDEO_SSRC = 0x1111_1111;
const AUDIO_SSRC = 0x2222_2222;
/** a keyframe every 3 s, like a file-replaying publisher; the dump starts with one */
const KEYFRAME_INTERVAL_FRAMES = 90;

function videoArgs(seconds: number, out: string): string[] {
  return [
    '-q',
    'videotestsrc',
    `num-buffers=${seconds * 30}`,
    'pattern=smpte',
    'horizontal-speed=3',
    '!',
    'video/x-raw,width=1280,height=720,framerate=30/1',
    '!',
    // a moving test card at 1.5 Mbit/s: the encoder spends its whole budget, as on a real camera. Like
    // Chromium's encoder: one slice per frame, no access unit delimiters, keyframes only when due (no
    // scene-cut I-frames, which a scrolling test card would otherwise get every few frames)
    'x264enc',
    'bitrate=1500',
    'speed-preset=veryfast',
    'tune=zerolatency',
    'aud=false',
    'threads=1',
    'option-string=scenecut=0',
    `key-int-max=${KEYFRAME_INTERVAL_FRAMES}`,
    '!',
    'video/x-h264,profile=constrained-baseline',
    '!',
    'rtph264pay',
    `pt=${VIDEO_PT}`,
    `ssrc=${VIDEO_SSRC}`,
    'seqnum-offset=1000',
    'timestamp-offset=0',
    'mtu=1200',
    'config-interval=-1',
    'aggregate-mode=zero-latency',
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
    `num-buffers=${seconds * 50}`,
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
    `pt=${AUDIO_PT}`,
    `ssrc=${AUDIO_SSRC}`,
    'seqnum-offset=2000',
    'timestamp-offset=0',
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${out}`,
  ];
}

/** Makes the dump of `seconds` in `dir` unless it is there already; returns its packets. */
export async function ensureDump(dir: string, seconds: number, log: (line: string) => void = () => undefined): Promise<RtpDump> {
  await mkdir(dir, { recursive: true });
  const video = join(dir, `h264-720p30-1500k-${seconds}s.rtp`);
  const audio = join(dir, `opus-48k-64k-${seconds}s.rtp`);
  await gstFileOnce(
    video,
    (tmp) => videoArgs(seconds, tmp),
    (path) => log(`making the benchmark input ${path} with GStreamer's test sources (once)`),
  );
  await gstFileOnce(
    audio,
    (tmp) => audioArgs(seconds, tmp),
    (path) => log(`making the benchmark input ${path} with GStreamer's test sources (once)`),
  );
  return { video: splitRfc4571(await readFile(video)), audio: splitRfc4571(await readFile(audio)), seconds };
}
