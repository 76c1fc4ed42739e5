import type { Container } from '@recstack/contracts';
import { tracksOf, type RecordingPlan, type TrackPlan } from '../recording-plan.js';

export interface FfmpegOptions {
  /** FFmpeg gives up when no packet arrives on any socket for this long (its `-listen_timeout`) */
  rtpTimeoutMs: number;
  aacBitrate: number;
  /** how often progress (and so the first keyframe) is reported */
  progressPeriodMs: number;
}

export const DEFAULT_FFMPEG_OPTIONS: FfmpegOptions = { rtpTimeoutMs: 10_000, aacBitrate: 128_000, progressPeriodMs: 250 };

const RTPMAP: Record<TrackPlan['codec'], (t: TrackPlan) => string> = {
  h264: () => 'H264/90000',
  vp8: () => 'VP8/90000',
  vp9: () => 'VP9/90000',
  av1: () => 'AV1/90000',
  opus: (t) => `opus/48000/${t.channels}`,
};

/**
 * The SDP FFmpeg reads on stdin: one m-line per track at the ports media sends to; RTCP on port + 1 (the
 * RTP/AVP default), which FFmpeg uses to align the streams by the senders' clocks.
 */
export function buildFfmpegSdp(plan: RecordingPlan): string {
  const lines = ['v=0', `o=- 0 0 IN IP4 ${plan.bindAddress}`, `s=recstack ${plan.recordingId}`, `c=IN IP4 ${plan.bindAddress}`, 't=0 0'];
  for (const track of tracksOf(plan)) {
    lines.push(`m=${track.kind} ${track.port} RTP/AVP ${track.payloadType}`);
    lines.push(`a=rtpmap:${track.payloadType} ${RTPMAP[track.codec](track)}`);
    if (track.fmtpLine) lines.push(`a=fmtp:${track.payloadType} ${track.fmtpLine}`);
    lines.push(`a=rtcp:${track.rtcpPort}`, 'a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * The ffmpeg arguments for a recording; the SDP comes on stdin. Video is copied (FFmpeg drops the frames
 * before the first keyframe when copying), Opus is transcoded to AAC or copied. MP4 is written fragmented
 * (a fragment every second: a kill leaves a playable file) and rewritten with its index at the front at the end.
 */
export function buildFfmpegArgs(plan: RecordingPlan, options: FfmpegOptions = DEFAULT_FFMPEG_OPTIONS): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'level+warning'];
  args.push('-protocol_whitelist', 'pipe,rtp,udp', '-f', 'sdp');
  args.push('-localaddr', plan.bindAddress, '-listen_timeout', String(Math.max(1, Math.round(options.rtpTimeoutMs / 1000))));
  args.push('-reorder_queue_size', '500', '-buffer_size', String(4 * 1024 * 1024), '-i', 'pipe:0');
  if (plan.video) args.push('-map', '0:v:0', '-c:v', 'copy');
  if (plan.video?.codec === 'h264' && plan.writeContainer === 'mp4') args.push('-tag:v', 'avc3');
  if (plan.audio) {
    args.push('-map', '0:a:0');
    if (plan.audioCodec === 'aac') args.push('-c:a', 'aac', '-b:a', String(options.aacBitrate));
    else args.push('-c:a', 'copy');
  }
  args.push(...output(plan.writeContainer));
  args.push('-progress', 'pipe:1', '-stats_period', String(options.progressPeriodMs / 1000));
  args.push('-y', plan.writePath);
  return args;
}

function output(container: Container): string[] {
  switch (container) {
    case 'mp4':
      // -flush_packets: without it the fragments sit in FFmpeg's 256 kB output buffer, and a kill loses them
      return ['-f', 'mp4', '-movflags', '+empty_moov+default_base_moof+frag_keyframe', '-frag_duration', '1000000', '-flush_packets', '1'];
    case 'webm':
      return ['-f', 'webm', '-cluster_time_limit', '1000', '-flush_packets', '1'];
    case 'mkv':
      return ['-f', 'matroska', '-cluster_time_limit', '1000', '-flush_packets', '1'];
  }
}
