import { join } from 'node:path';
import {
  fileExtension,
  resolveOutputFormat,
  type AudioCodec,
  type Container,
  type Engine,
  type OutputAudioCodec,
  type RecorderStartRequest,
  type RtpTrackSpec,
  type Segment,
  type VideoCodec,
} from '@recstack/contracts';
import { BadRequestError } from '@recstack/service-kit';
import { UnsupportedCodecError, UnsupportedFormatError } from './errors.js';

/** One incoming RTP stream, checked and normalised. */
export interface TrackPlan {
  kind: 'audio' | 'video';
  codec: VideoCodec | AudioCodec;
  payloadType: number;
  clockRate: number;
  /** audio channels as negotiated (Opus is always announced as 2) */
  channels: number;
  port: number;
  rtcpPort: number;
  /** fmtp parameters, keys lower-cased */
  fmtp: ReadonlyMap<string, string>;
  /** the fmtp line as negotiated, only printable ASCII (it goes into an SDP for FFmpeg) */
  fmtpLine: string | undefined;
}

/**
 * What a child process writes, and what happens to it afterwards:
 * - `compact-mp4`: a crash-safe MP4 (its index reserved at the front and rewritten every second, or
 *   fragments) is rewritten at the end into a plain MP4 with the index at the front, without the slack;
 * - `remux`: written in another container and copied into the requested one at the end (see
 *   intermediateContainer);
 * - `none`: the file is final as written (Matroska/WebM).
 */
export type FinalizeStep = 'compact-mp4' | 'remux' | 'none';

export interface RecordingPlan {
  recordingId: string;
  sessionId: string;
  engine: Engine;
  container: Container;
  audioCodec: OutputAudioCodec | null;
  video: TrackPlan | undefined;
  audio: TrackPlan | undefined;
  bindAddress: string;
  /** the file's name in the recordings folder: `<recordingId>.<container>`, `<recordingId>-s<n>.<container>` for segment n of a handover */
  fileName: string;
  /** a handover's later segment: the earlier ones, joined with this one's file when it ends */
  previousSegments?: Segment[];
  outputPath: string;
  /** the file the child writes */
  writePath: string;
  writeContainer: Container;
  finalize: FinalizeStep;
  /**
   * Samples (at 48 kHz) of encoder priming in front of the audio that the child's muxer does not declare,
   * so the audio plays that much late; the finalizer's copy moves the audio earlier by as much.
   */
  audioLeadSamples: number;
  maxDurationMs: number;
}

export interface PlanSettings {
  engine: Engine;
  recordingsDir: string;
  bindAddress: string;
  maxDurationMs: number;
}

const VIDEO_CLOCK_RATE = 90000;
const OPUS_CLOCK_RATE = 48000;
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * Checks a start request and decides everything about the recording before anything starts: a request
 * that cannot be recorded is refused here with a code the caller can act on.
 */
export function planRecording(req: RecorderStartRequest, settings: PlanSettings): RecordingPlan {
  const video = req.tracks.find((t) => t.kind === 'video');
  const audio = req.tracks.find((t) => t.kind === 'audio');
  const videoPlan = video ? planTrack(video) : undefined;
  const audioPlan = audio ? planTrack(audio) : undefined;
  if (videoPlan?.codec === 'av1' && settings.engine === 'ffmpeg') {
    throw new UnsupportedCodecError(
      'AV1 is recorded by the GStreamer engine only: FFmpeg 5.1 has no AV1 RTP depacketizer; run this recorder with RECORDER_ENGINE=gstreamer or publish H264, VP8 or VP9',
    );
  }

  const format = resolveOutputFormat({
    video: videoPlan?.codec as VideoCodec | undefined,
    audio: audioPlan?.codec as AudioCodec | undefined,
    container: req.container,
    audioCodec: audioPlan ? (req.audioCodec ?? undefined) : undefined,
  });
  if (!format.ok) throw new UnsupportedFormatError(format.message);
  const { container } = format.format;
  const audioCodec = format.format.audioCodec ?? null;

  const fileName = req.segment ? `${req.recordingId}-s${req.segment.index}${fileExtension(container)}` : `${req.recordingId}${fileExtension(container)}`;
  const outputPath = join(settings.recordingsDir, fileName);
  const writeContainer = intermediateContainer(settings.engine, container, videoPlan?.codec as VideoCodec | undefined) ?? container;
  const finalize: FinalizeStep = writeContainer !== container ? 'remux' : container === 'mp4' ? 'compact-mp4' : 'none';
  const writePath = writeContainer === container ? outputPath : `${outputPath}.partial${fileExtension(writeContainer)}`;

  return {
    recordingId: req.recordingId,
    sessionId: req.sessionId,
    engine: settings.engine,
    container,
    audioCodec,
    video: videoPlan,
    audio: audioPlan,
    bindAddress: settings.bindAddress,
    fileName,
    outputPath,
    writePath,
    writeContainer,
    finalize,
    audioLeadSamples: audioPlan && audioCodec === 'aac' ? undeclaredAacPriming(settings.engine) : 0,
    maxDurationMs: settings.maxDurationMs,
    ...(req.segment ? { previousSegments: req.segment.previous } : {}),
  };
}

/**
 * GStreamer's voaacenc puts 1600 samples of priming in front of the audio and mp4mux/matroskamux write no
 * edit list for them: measured +31 ms (MP4) and +34 ms (Matroska) audio behind video. FFmpeg's own AAC
 * encoder declares its priming, so its files need nothing.
 */
export function undeclaredAacPriming(engine: Engine): number {
  return engine === 'gstreamer' ? VOAACENC_PRIMING_SAMPLES : 0;
}

const VOAACENC_PRIMING_SAMPLES = 1600;

function planTrack(spec: RtpTrackSpec): TrackPlan {
  const fmtpLine = spec.fmtp?.trim() || undefined;
  if (fmtpLine !== undefined && !PRINTABLE.test(fmtpLine))
    throw new BadRequestError(`the ${spec.kind} track's fmtp contains characters that are not printable ASCII`);
  const fmtp = parseFmtp(fmtpLine ?? '');
  const expectedClock = spec.kind === 'video' ? VIDEO_CLOCK_RATE : OPUS_CLOCK_RATE;
  if (spec.clockRate !== expectedClock) {
    throw new BadRequestError(`${spec.codec} RTP uses a ${expectedClock} Hz clock, not ${spec.clockRate} Hz`);
  }
  if (spec.codec === 'h264') {
    const mode = fmtp.get('packetization-mode') ?? '0';
    if (mode !== '0' && mode !== '1') throw new UnsupportedCodecError(`H264 packetization-mode=${mode} is not supported (only 0 and 1)`);
  }
  return {
    kind: spec.kind,
    codec: spec.codec,
    payloadType: spec.payloadType,
    clockRate: spec.clockRate,
    channels: spec.kind === 'audio' ? (spec.channels ?? 2) : 1,
    port: spec.port,
    rtcpPort: spec.port + 1,
    fmtp,
    fmtpLine,
  };
}

/**
 * GStreamer 1.22's muxers refuse some mid-stream caps changes, and a resolution change is one: mp4mux takes
 * H264 (as avc3) but not VP9 or AV1, matroskamux takes VP8/VP9/AV1 but not H264. Those recordings are written in the
 * container that accepts the changes and remuxed (copied, not transcoded) into the requested one at the end.
 */
function intermediateContainer(engine: Engine, container: Container, video: VideoCodec | undefined): Container | undefined {
  if (engine !== 'gstreamer') return undefined;
  if (container === 'mkv' && video === 'h264') return 'mp4';
  if (container === 'mp4' && (video === 'vp9' || video === 'av1')) return 'mkv';
  return undefined;
}

/** `a=fmtp` parameters: `key=value;key=value`, keys case-insensitive, whitespace around parts ignored. */
export function parseFmtp(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of line.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) out.set(trimmed.toLowerCase(), '');
    else out.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
  }
  return out;
}

/** Every UDP port the recording binds: RTP and RTCP of each track. */
export function boundPorts(plan: RecordingPlan): number[] {
  return [plan.video, plan.audio].filter((t): t is TrackPlan => t !== undefined).flatMap((t) => [t.port, t.rtcpPort]);
}

export function tracksOf(plan: RecordingPlan): TrackPlan[] {
  return [plan.video, plan.audio].filter((t): t is TrackPlan => t !== undefined);
}
