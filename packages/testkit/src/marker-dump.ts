import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitRfc4571, type RtpDump } from './rtp-replay.js';

/**
 * RTP whose white flashes and beeps start at exactly the same instant: a lossless source drawn by FFmpeg
 * (the flash and the tone are both functions of the same t, so they cannot drift), encoded by GStreamer
 * and packetized, kept as RTP packets. Replayed with `RtpReplay` (exact sender reports) it is a ground
 * truth for a recorder's A/V sync, with no browser or media server in between.
 */
export interface MarkerDumpOptions {
  dir: string;
  videoCodec: 'h264' | 'vp8';
  seconds?: number;
  periodSeconds?: number;
  markerSeconds?: number;
}

export interface MarkerDump extends RtpDump {
  videoPayloadType: number;
  audioPayloadType: number;
}

const VIDEO_PT = 96;
const AUDIO_PT = 111;

export async function makeMarkerDump(options: MarkerDumpOptions): Promise<MarkerDump> {
  const seconds = options.seconds ?? 12;
  const period = options.periodSeconds ?? 1.5;
  const marker = options.markerSeconds ?? 0.12;
  const source = join(options.dir, `markers-${seconds}s.mkv`);
  const on = `lt(mod(t\\,${period})\\,${marker})`;
  await runTool('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=0x202020:s=640x360:r=30:d=${seconds},drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${on}'`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc=exprs='if(${on}\\,0.8*sin(2*PI*1000*t)\\,0)|if(${on}\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${seconds}`,
    '-c:v',
    'ffv1',
    '-c:a',
    'pcm_s16le',
    source,
  ]);
  const video = join(options.dir, `markers-${options.videoCodec}.rtp`);
  const audio = join(options.dir, `markers-opus-${options.videoCodec}.rtp`);
  await runTool('gst-launch-1.0', [
    '-q',
    'filesrc',
    `location=${source}`,
    '!',
    'matroskademux',
    'name=d',
    'd.video_0',
    '!',
    'queue',
    '!',
    'avdec_ffv1',
    '!',
    'videoconvert',
    '!',
    'video/x-raw,format=I420',
    '!',
    ...videoEncoder(options.videoCodec),
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${video}`,
    'd.audio_0',
    '!',
    'queue',
    '!',
    'audioconvert',
    '!',
    'audio/x-raw,rate=48000,channels=2',
    '!',
    'opusenc',
    'bitrate=64000',
    'frame-size=20',
    '!',
    'rtpopuspay',
    `pt=${AUDIO_PT}`,
    'timestamp-offset=0',
    '!',
    'rtpstreampay',
    '!',
    'filesink',
    `location=${audio}`,
  ]);
  return {
    video: splitRfc4571(await readFile(video)),
    audio: splitRfc4571(await readFile(audio)),
    seconds,
    videoPayloadType: VIDEO_PT,
    audioPayloadType: AUDIO_PT,
  };
}

function videoEncoder(codec: 'h264' | 'vp8'): string[] {
  // a keyframe every second: the recording starts at the first one after the recorder listens
  if (codec === 'h264') {
    return [
      'x264enc',
      'bitrate=800',
      'speed-preset=veryfast',
      'tune=zerolatency',
      'threads=1',
      'option-string=scenecut=0',
      'key-int-max=30',
      '!',
      'video/x-h264,profile=constrained-baseline',
      '!',
      'rtph264pay',
      `pt=${VIDEO_PT}`,
      'mtu=1200',
      'config-interval=-1',
      'aggregate-mode=zero-latency',
      'timestamp-offset=0',
    ];
  }
  return [
    'vp8enc',
    'deadline=1',
    'cpu-used=8',
    'lag-in-frames=0',
    'end-usage=cbr',
    'target-bitrate=800000',
    'keyframe-max-dist=30',
    '!',
    'rtpvp8pay',
    `pt=${VIDEO_PT}`,
    'picture-id-mode=15-bit',
    'timestamp-offset=0',
  ];
}

function runTool(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr.trim().slice(0, 2000)}`))));
  });
}
