import { join } from 'node:path';
import type { Engine, OutputAudioCodec, RecorderStartRequest, RtpTrackSpec } from '@recstack/contracts';
import { newId } from '@recstack/service-kit';
// The recorder's own pure builders, imported from its sources: the package has no entry point for them
// (its `main` is the service itself), see bench/README.md.
import { childLaunch, loadConfig, planRecording, type RecordingPlan } from '@recstack/recorder';
import { AUDIO_PT, VIDEO_PT } from './rtp-dump.js';

/** Where the replay sends: RTP ports (RTCP on port + 1). */
export interface BenchPorts {
  video: number;
  audio: number;
}

/** One child process to measure. */
export interface Launch {
  command: string;
  args: string[];
  stdin: string;
  /** the graceful stop that finalizes the file */
  stopSignal: NodeJS.Signals;
  outputPath: string;
  /** the UDP ports the child must have bound before the replay starts */
  boundPorts: number[];
  /** our recorder's plan: its file is finalized, probed and decoded afterwards, as the service does */
  plan?: RecordingPlan;
}

export interface Subject {
  id: string;
  label: string;
  launch(ports: BenchPorts, dir: string): Launch;
}

/**
 * (a) the seed's GStreamer pipeline, verbatim from DESIGN.md; only the ports (5004/5006 there) and the file
 * name are substituted.
 */
export const seedGstreamer: Subject = {
  id: 'seed-gst',
  label: 'seed: gst-launch (Opus→AAC, mp4mux faststart)',
  launch: (ports, dir) => {
    const out = join(dir, 'seed-gst.mp4');
    return {
      command: 'gst-launch-1.0',
      args: [
        '--eos-on-shutdown',
        'mp4mux',
        'faststart=true',
        'name=mux',
        '!',
        'filesink',
        `location=${out}`,
        'udpsrc',
        'address=127.0.0.1',
        `port=${ports.audio}`,
        `caps=application/x-rtp,clock-rate=48000,payload=${AUDIO_PT}`,
        '!',
        'queue',
        '!',
        'rtpjitterbuffer',
        '!',
        'rtpopusdepay',
        '!',
        'opusdec',
        '!',
        'audioconvert',
        '!',
        'audioresample',
        '!',
        'avenc_aac',
        '!',
        'aacparse',
        '!',
        'mux.',
        'udpsrc',
        'address=127.0.0.1',
        `port=${ports.video}`,
        `caps=application/x-rtp,clock-rate=90000,payload=${VIDEO_PT}`,
        '!',
        'queue',
        '!',
        'rtpjitterbuffer',
        '!',
        'rtph264depay',
        '!',
        'h264parse',
        '!',
        'mux.',
      ],
      stdin: '',
      stopSignal: 'SIGINT',
      outputPath: out,
      boundPorts: [ports.audio, ports.video],
    };
  },
};

/** (b) the seed's FFmpeg command with its SDP on stdin, verbatim from DESIGN.md but for the ports. */
export const seedFfmpeg: Subject = {
  id: 'seed-ffmpeg',
  label: 'seed: ffmpeg (Opus→AAC, plain MP4)',
  launch: (ports, dir) => {
    const out = join(dir, 'seed-ffmpeg.mp4');
    const sdp = [
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=seed',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${ports.audio} RTP ${AUDIO_PT}`,
      `a=rtpmap:${AUDIO_PT} opus/48000/2`,
      `m=video ${ports.video} RTP ${VIDEO_PT}`,
      `a=rtpmap:${VIDEO_PT} H264/90000`,
      `a=fmtp:${VIDEO_PT} packetization-mode=1`,
      '',
    ].join('\n');
    return {
      command: 'ffmpeg',
      args: ['-protocol_whitelist', 'file,rtp,udp,pipe', '-i', '-', '-c:a', 'aac', '-c:v', 'copy', '-f', 'mp4', '-y', out],
      stdin: sdp,
      // 'q' on stdin is impossible (stdin is the SDP): SIGINT is FFmpeg's other graceful end
      stopSignal: 'SIGINT',
      outputPath: out,
      boundPorts: [ports.audio, ports.video],
    };
  },
};

/** The tracks as media announces them to the recorder for a Chromium publisher. */
export function benchTracks(ports: BenchPorts): RtpTrackSpec[] {
  return [
    {
      kind: 'video',
      codec: 'h264',
      payloadType: VIDEO_PT,
      clockRate: 90_000,
      fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      port: ports.video,
    },
    { kind: 'audio', codec: 'opus', payloadType: AUDIO_PT, clockRate: 48_000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', port: ports.audio },
  ];
}

export function benchStartRequest(ports: BenchPorts, audioCodec: OutputAudioCodec): RecorderStartRequest {
  return { recordingId: newId('rec'), sessionId: newId('ses'), tracks: benchTracks(ports), container: 'mp4', audioCodec };
}

/**
 * (c) our recorder's child process, exactly as the service launches it: the plan from `planRecording` and
 * the argv from `childLaunch` (which calls `buildGstLaunchArgs` / `buildFfmpegArgs` + `buildFfmpegSdp`) with
 * the service's default configuration.
 */
export function ours(engine: Engine, audioCodec: OutputAudioCodec): Subject {
  const what = audioCodec === 'aac' ? 'Opus→AAC' : 'Opus copied';
  return {
    id: `ours-${engine === 'gstreamer' ? 'gst' : 'ffmpeg'}-${audioCodec}`,
    label: `ours: ${engine} (${what}, MP4)`,
    launch: (ports, dir) => {
      const config = loadConfig({});
      const plan = planRecording(benchStartRequest(ports, audioCodec), {
        engine,
        recordingsDir: dir,
        bindAddress: config.bindAddress,
        maxDurationMs: config.maxDurationMs,
      });
      const launch = childLaunch(plan, {
        gstLaunch: config.binaries.gstLaunch,
        ffmpeg: config.binaries.ffmpeg,
        jitterLatencyMs: config.jitterLatencyMs,
        rtpTimeoutMs: config.rtpTimeoutMs,
      });
      return {
        command: launch.command,
        args: launch.args,
        stdin: launch.stdin,
        stopSignal: launch.finalizeSignal,
        outputPath: plan.writePath,
        boundPorts: [ports.video, ports.video + 1, ports.audio, ports.audio + 1],
        plan,
      };
    },
  };
}

export const ALL_SUBJECTS: Subject[] = [
  seedGstreamer,
  seedFfmpeg,
  ours('gstreamer', 'aac'),
  ours('gstreamer', 'opus'),
  ours('ffmpeg', 'aac'),
  ours('ffmpeg', 'opus'),
];
