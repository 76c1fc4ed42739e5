import { spawn, type ChildProcess } from 'node:child_process';
import { startAv1Relay } from './av1-rtp-relay.js';

/**
 * A plain-RTP publisher made of GStreamer test sources: what Medooze's Streamer sends to a recorder
 * (RTP to `port`, RTCP sender reports to `port + 1`), without a browser. GStreamer's encoders honour no
 * keyframe requests, so keyframes come every `keyframeInterval` frames.
 */

export type PublisherVideoCodec = 'h264' | 'vp8' | 'vp9' | 'av1';

export interface Resolution {
  width: number;
  height: number;
}

export interface RtpVideoOptions {
  codec: PublisherVideoCodec;
  port: number;
  payloadType?: number;
  /** frames between keyframes (default 30: one a second) */
  keyframeInterval?: number;
  /** frames per second (default 30) */
  fps?: number;
  /** kbit/s (default 800) */
  bitrateKbps?: number;
  /**
   * Resolutions in order: every one but the last lasts `secondsPerStep`, the last one until the end, like
   * Chromium's camera climbing as bandwidth estimation ramps up. Default: one 640x360 step.
   */
  resolutions?: Resolution[];
  secondsPerStep?: number;
  /**
   * Delay the video RTP on the wire without changing its timestamps or sender reports (ms): a recorder that
   * places streams by arrival time gets them out of sync; one that uses RTCP does not.
   */
  sendDelayMs?: number;
  /** a white flash every `markerPeriodSeconds` (default 4) instead of a moving ball: for A/V sync checks */
  marker?: boolean;
  /**
   * AV1 only: GStreamer has no AV1 RTP payloader, so the encoded units go to this local port in X-GST RTP,
   * where an Av1Relay repacketizes them (startAv1RtpPublisher does it all)
   */
  relayPort?: number;
}

export interface RtpAudioOptions {
  port: number;
  payloadType?: number;
  /** a short tick every `markerPeriodSeconds` instead of a continuous tone: for A/V sync checks */
  marker?: boolean;
}

export interface RtpPublisherOptions {
  host?: string;
  video?: RtpVideoOptions;
  audio?: RtpAudioOptions;
  /** stop by itself after this many seconds (default: run until stop()) */
  durationSeconds?: number;
  /** period of the flash / tick markers in seconds (default 4) */
  markerPeriodSeconds?: number;
  /** send RTCP sender reports to port + 1 (default true); without them a receiver can only sync by arrival */
  sendRtcp?: boolean;
}

export interface RtpPublisher {
  readonly child: ChildProcess;
  readonly argv: readonly string[];
  /** resolves when gst-launch exits */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** stops sending (SIGTERM, then SIGKILL) and waits for the exit; idempotent */
  stop(): Promise<void>;
}

const CHANGING: Resolution[] = [
  { width: 320, height: 180 },
  { width: 640, height: 360 },
  { width: 960, height: 540 },
];

/** Resolutions like Chromium's fake camera during its first seconds: 320x180 → 640x360 → 960x540. */
export const CHANGING_RESOLUTIONS: readonly Resolution[] = CHANGING;

/** one payload type for every video codec, like a recorder request built with the defaults */
export const DEFAULT_VIDEO_PAYLOAD_TYPE = 96;
export const DEFAULT_AUDIO_PAYLOAD_TYPE = 111;

/** The gst-launch-1.0 arguments of a publisher (exported for tests of the publisher itself). */
export function rtpPublisherArgs(options: RtpPublisherOptions): string[] {
  if (!options.video && !options.audio) throw new Error('an RTP publisher needs video, audio or both');
  const host = options.host ?? '127.0.0.1';
  const markerPeriodNs = BigInt(Math.round((options.markerPeriodSeconds ?? 4) * 1e9));
  const args: string[] = ['rtpbin', 'name=rtpbin'];
  let session = 0;
  if (options.video) {
    const v = options.video;
    const fps = v.fps ?? 30;
    const totalFrames = options.durationSeconds ? Math.round(options.durationSeconds * fps) : undefined;
    args.push(...videoSource(v, fps, totalFrames, markerPeriodNs), '!', 'videoconvert', '!', ...videoEncoder(v, fps), '!', `rtpbin.send_rtp_sink_${session}`);
    const rtpTarget = v.codec === 'av1' ? ['host=127.0.0.1', `port=${v.relayPort ?? 0}`] : [`host=${host}`, `port=${v.port}`];
    args.push(`rtpbin.send_rtp_src_${session}`, '!', 'udpsink', ...rtpTarget, `ts-offset=${(v.sendDelayMs ?? 0) * 1_000_000}`);
    args.push(`rtpbin.send_rtcp_src_${session}`, '!', ...rtcpSink(options, host, v.port + 1));
    session++;
  }
  if (options.audio) {
    const a = options.audio;
    const buffers = options.durationSeconds ? [`num-buffers=${Math.round(options.durationSeconds * 50)}`] : [];
    // videotestsrc's blink starts black: its first white frame is half a period in, so the ticks start there too
    const wave = a.marker
      ? ['wave=ticks', `tick-interval=${markerPeriodNs}`, `timestamp-offset=${markerPeriodNs / 2n}`, 'sine-periods-per-tick=40', 'freq=1000', 'volume=0.8']
      : ['wave=sine', 'freq=440', 'volume=0.3'];
    args.push(
      'audiotestsrc',
      ...buffers,
      'samplesperbuffer=960',
      ...wave,
      '!',
      'audio/x-raw,rate=48000,channels=2',
      '!',
      'audioconvert',
      '!',
      'audioresample',
      '!',
    );
    args.push(
      'opusenc',
      'bitrate=64000',
      'frame-size=20',
      '!',
      'rtpopuspay',
      `pt=${a.payloadType ?? DEFAULT_AUDIO_PAYLOAD_TYPE}`,
      '!',
      `rtpbin.send_rtp_sink_${session}`,
    );
    args.push(`rtpbin.send_rtp_src_${session}`, '!', 'udpsink', `host=${host}`, `port=${a.port}`);
    args.push(`rtpbin.send_rtcp_src_${session}`, '!', ...rtcpSink(options, host, a.port + 1));
  }
  return args;
}

function rtcpSink(options: RtpPublisherOptions, host: string, port: number): string[] {
  if (options.sendRtcp === false) return ['fakesink', 'sync=false', 'async=false'];
  return ['udpsink', `host=${host}`, `port=${port}`, 'sync=false', 'async=false'];
}

function videoSource(v: RtpVideoOptions, fps: number, totalFrames: number | undefined, markerPeriodNs: bigint): string[] {
  if (v.marker) {
    // blink toggles black/white on every frame (black first): at half the marker period per frame it turns
    // white once per period, half a period in
    const half = markerPeriodNs / 2n;
    const { width, height } = v.resolutions?.at(-1) ?? { width: 640, height: 360 };
    const count = totalFrames === undefined ? [] : [`num-buffers=${Math.ceil((totalFrames * 1e9) / fps / Number(half))}`];
    return [
      // videorate repeats the nearest source frame, so it would switch colour half a source frame early:
      // shifting the source by a quarter period puts the switch exactly on the half period
      'videotestsrc',
      ...count,
      'pattern=blink',
      `timestamp-offset=${half / 2n}`,
      '!',
      `video/x-raw,width=${width},height=${height},framerate=1000000000/${half}`,
      '!',
      'videorate',
      '!',
      `video/x-raw,framerate=${fps}/1`,
    ];
  }
  const steps = v.resolutions && v.resolutions.length > 0 ? v.resolutions : [{ width: 640, height: 360 }];
  const stepFrames = Math.round((v.secondsPerStep ?? 2) * fps);
  if (steps.length === 1) {
    const count = totalFrames === undefined ? [] : [`num-buffers=${totalFrames}`];
    return ['videotestsrc', ...count, 'pattern=ball', '!', rawCaps(steps[0] as Resolution, fps)];
  }
  // concat plays its inputs one after the other; x264enc/vp8enc/vp9enc re-initialise on the new size
  const out = ['concat', 'name=steps'];
  steps.forEach((step, i) => {
    const last = i === steps.length - 1;
    const frames = last ? (totalFrames === undefined ? undefined : Math.max(1, totalFrames - stepFrames * (steps.length - 1))) : stepFrames;
    out.push(
      'videotestsrc',
      ...(frames === undefined ? [] : [`num-buffers=${frames}`]),
      `pattern=${i % 2 === 0 ? 'ball' : 'smpte'}`,
      '!',
      rawCaps(step, fps),
      '!',
      'steps.',
    );
  });
  out.push('steps.');
  return out;
}

function rawCaps(r: Resolution, fps: number): string {
  return `video/x-raw,width=${r.width},height=${r.height},framerate=${fps}/1`;
}

function videoEncoder(v: RtpVideoOptions, fps: number): string[] {
  const keyint = v.keyframeInterval ?? fps;
  const kbps = v.bitrateKbps ?? 800;
  const pt = v.payloadType ?? DEFAULT_VIDEO_PAYLOAD_TYPE;
  switch (v.codec) {
    case 'h264':
      return [
        'x264enc',
        'tune=zerolatency',
        'speed-preset=ultrafast',
        `key-int-max=${keyint}`,
        `bitrate=${kbps}`,
        '!',
        'video/x-h264,profile=constrained-baseline',
        '!',
        'rtph264pay',
        `pt=${pt}`,
        'config-interval=-1',
        'aggregate-mode=zero-latency',
      ];
    case 'vp8':
      return [
        'vp8enc',
        'deadline=1',
        'cpu-used=8',
        'lag-in-frames=0',
        'end-usage=cbr',
        `target-bitrate=${kbps * 1000}`,
        `keyframe-max-dist=${keyint}`,
        '!',
        'rtpvp8pay',
        `pt=${pt}`,
        'picture-id-mode=15-bit',
      ];
    case 'vp9':
      return [
        'vp9enc',
        'deadline=1',
        'cpu-used=8',
        'lag-in-frames=0',
        'end-usage=cbr',
        `target-bitrate=${kbps * 1000}`,
        `keyframe-max-dist=${keyint}`,
        '!',
        'rtpvp9pay',
        `pt=${pt}`,
        'picture-id-mode=15-bit',
      ];
    case 'av1':
      // libaom's CBR asserts without explicit quantizer bounds (ratectrl.c rc_pick_q_and_bounds_no_stats_cbr)
      return [
        'av1enc',
        'usage-profile=realtime',
        'cpu-used=9',
        'end-usage=cbr',
        'min-quantizer=10',
        'max-quantizer=56',
        `target-bitrate=${kbps}`,
        `keyframe-max-dist=${keyint}`,
        'lag-in-frames=0',
        'threads=2',
        '!',
        'av1parse',
        '!',
        'video/x-av1,stream-format=obu-stream,alignment=tu',
        '!',
        'rtpgstpay',
        `pt=${pt}`,
      ];
  }
}

/** An AV1 publisher: GStreamer encodes, an Av1Relay in this process packetizes AV1 RTP towards `video.port`. */
export async function startAv1RtpPublisher(options: RtpPublisherOptions): Promise<RtpPublisher> {
  const video = options.video;
  if (video?.codec !== 'av1') throw new Error('startAv1RtpPublisher needs an AV1 video track');
  const relay = await startAv1Relay({ host: options.host ?? '127.0.0.1', port: video.port, payloadType: video.payloadType ?? DEFAULT_VIDEO_PAYLOAD_TYPE });
  const publisher = startRtpPublisher({ ...options, video: { ...video, relayPort: relay.port } });
  return {
    ...publisher,
    stop: async () => {
      await publisher.stop();
      await relay.close().catch(() => undefined);
    },
  };
}

/** Starts sending at once (give the recorder a head start, or not, as the test needs). */
export function startRtpPublisher(options: RtpPublisherOptions): RtpPublisher {
  const argv = rtpPublisherArgs(options);
  const child = spawn('gst-launch-1.0', ['-q', ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  let stopping: Promise<void> | undefined;
  return {
    child,
    argv,
    exited,
    output: () => output,
    stop: () => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
