import type { Container } from '@recstack/contracts';
import { tracksOf, type RecordingPlan, type TrackPlan } from '../recording-plan.js';

/**
 * Element names the output parser relies on: the pipeline and the parser must agree, so both take them
 * from here.
 */
export const GST_NAMES = {
  rtpSource: (kind: TrackPlan['kind']) => `rtp_${kind}`,
  rtcpSource: (kind: TrackPlan['kind']) => `rtcp_${kind}`,
  /** checksumsink on a side branch that only keyframes reach; it prints one line per keyframe */
  keyframeTap: 'keyframes_video',
  muxer: 'mux',
} as const;

export interface GstPipelineOptions {
  /** rtpbin jitter buffer latency */
  jitterLatencyMs: number;
  /**
   * rtpbin `buffer-mode`: `synced` (default) keeps each frame's RTP timestamp; `slave` re-times frames by
   * arrival to follow a drifting sender clock (RECORDER_JITTER_MODE)
   */
  jitterMode?: 'synced' | 'slave';
  /**
   * udpsrc posts a timeout message after this long without a packet, and again every period while silent:
   * the recorder measures silence (RTP timeout, a track that never received anything) from these
   */
  idleProbeMs: number;
  /** how often the MP4 index at the front is rewritten: the most a kill -9 can lose */
  moovUpdatePeriodMs: number;
  /** AAC bitrate when transcoding Opus */
  aacBitrate: number;
}

export const DEFAULT_GST_OPTIONS: GstPipelineOptions = {
  jitterLatencyMs: 200,
  idleProbeMs: 1000,
  moovUpdatePeriodMs: 1000,
  aacBitrate: 128_000,
};

/** Large enough for a burst of keyframe packets at 1080p; the kernel caps it at net.core.rmem_max. */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;
const NS_PER_MS = 1_000_000n;
/** Spare reserved index beyond the maximum duration, so the recording is stopped before the muxer runs out. */
const MOOV_RESERVE_MARGIN_MS = 10 * 60 * 1000;

const ENCODING_NAME: Record<TrackPlan['codec'], string> = { h264: 'H264', vp8: 'VP8', vp9: 'VP9', av1: 'AV1', opus: 'OPUS' };

/**
 * The gst-launch-1.0 arguments for a recording. Pure: the same plan gives the same argv.
 *
 *   udpsrc(RTP) ─┐                                 ┌─ depay ! parse ─ tee ─ [queue] ─ mux ─ filesink
 *   udpsrc(RTCP)─┴─ rtpbin (jitter buffer, SR sync) ┤               └─ identity (drop deltas) ! checksumsink (line per keyframe)
 *                                                  └─ depay ! [opusdec ! voaacenc] ─ [queue] ─ mux
 *
 * - `-e`: SIGINT becomes EOS, so a stop finalizes the file.
 * - `-m`: the bus prints the keyframe tap's messages (first keyframe), the sources' state changes
 *   (listening) and the udpsrc timeouts (silence on a track); no `-v`, whose property notifications would
 *   only add noise.
 * - rtpbin receives RTP and the RTCP sender reports of each track, so audio and video are put on one
 *   timeline by the senders' NTP clock rather than by arrival time.
 * - `buffer-mode=synced`: every frame keeps its RTP timestamp (its capture time) with one offset per
 *   track. The default (`slave`) re-times frames by their arrival to follow clock skew, which moved them by
 *   up to 5-7 ms on a busy machine; the price is that a sender whose clock drifts from ours by more than
 *   the jitter latency over a recording is not followed (see the recorder README; RECORDER_JITTER_MODE).
 * - Threads: each track's jitter buffer pushes from its own thread, which runs the depayloader, the parser
 *   and the keyframe tap. mp4mux is an aggregator: its pads hold up to the pipeline's latency of data and
 *   it writes from a thread of its own, so a `queue` in front of it would only add a thread and a hand-over
 *   per frame (measured: ~20 % of the child's CPU in pass-through, bench/results/ablations-opus-*.md).
 *   matroskamux/webmmux (GStreamer 1.22) are not aggregators: a pad blocks until every pad has data, so
 *   they keep their queues.
 */
export function buildGstLaunchArgs(plan: RecordingPlan, options: GstPipelineOptions = DEFAULT_GST_OPTIONS): string[] {
  const tracks = tracksOf(plan);
  const args = ['-e', '-m'];
  args.push('rtpbin', 'name=rtpbin', `latency=${options.jitterLatencyMs}`, 'do-lost=true', `buffer-mode=${options.jitterMode ?? 'synced'}`);
  tracks.forEach((track, session) => args.push(...receiveTrack(plan, track, session, options)));
  const toMuxer = muxerHasOwnThread(plan.writeContainer) ? [] : ['queue', '!'];
  for (const track of tracks) {
    args.push('rtpbin.', '!', ...depayload(track, plan, options));
    if (track.kind === 'video') {
      // keyframe tap: a silent identity drops the delta frames, and checksumsink prints one line per remaining
      // buffer: one line per keyframe, nothing per frame. (Not multifilesink location=/dev/null: it replaces
      // the file it writes, and as root it turned the host's /dev/null into a regular file.) No queue of its
      // own: a line every few seconds on a pipe the recorder always reads never blocks, and a queue there
      // cost a thread hand-over for every frame only to drop the deltas on the other side.
      args.push('!', 'tee', 'name=video_tee', '!', ...toMuxer, `${GST_NAMES.muxer}.video_0`);
      args.push(
        'video_tee.',
        '!',
        'identity',
        'drop-buffer-flags=delta-unit',
        'silent=true',
        '!',
        'checksumsink',
        `name=${GST_NAMES.keyframeTap}`,
        'hash=md5',
        'sync=false',
        'async=false',
      );
    } else {
      args.push('!', ...toMuxer, `${GST_NAMES.muxer}.${track.kind}_0`);
    }
  }
  args.push(...muxer(plan.writeContainer, plan.maxDurationMs, options), '!', 'filesink', `location=${plan.writePath}`);
  return args;
}

/**
 * The file descriptor on which the child reads the AV1 track: the recorder depacketizes AV1 itself (no
 * rtpav1depay in GStreamer 1.22) and passes temporal units as X-GST RTP, RFC 4571 framed (see av1/).
 */
export const AV1_PIPE_FD = 3;

function receiveTrack(plan: RecordingPlan, track: TrackPlan, session: number, options: GstPipelineOptions): string[] {
  if (track.codec === 'av1') {
    return [
      'fdsrc',
      `name=${GST_NAMES.rtpSource(track.kind)}`,
      `fd=${AV1_PIPE_FD}`,
      'do-timestamp=true',
      '!',
      'application/x-rtp-stream',
      '!',
      'rtpstreamdepay',
      '!',
      `application/x-rtp,media=application,clock-rate=90000,encoding-name=X-GST,payload=${track.payloadType}`,
      '!',
      `rtpbin.recv_rtp_sink_${session}`,
      'udpsrc',
      `name=${GST_NAMES.rtcpSource(track.kind)}`,
      `address=${plan.bindAddress}`,
      `port=${track.rtcpPort}`,
      'reuse=false',
      'caps=application/x-rtcp',
      '!',
      `rtpbin.recv_rtcp_sink_${session}`,
    ];
  }
  const caps = [
    'application/x-rtp',
    `media=${track.kind}`,
    `clock-rate=${track.clockRate}`,
    `encoding-name=${ENCODING_NAME[track.codec]}`,
    `payload=${track.payloadType}`,
  ].join(',');
  const address = `address=${plan.bindAddress}`;
  return [
    'udpsrc',
    `name=${GST_NAMES.rtpSource(track.kind)}`,
    address,
    `port=${track.port}`,
    'reuse=false',
    `buffer-size=${UDP_BUFFER_BYTES}`,
    `timeout=${BigInt(options.idleProbeMs) * NS_PER_MS}`,
    `caps=${caps}`,
    '!',
    `rtpbin.recv_rtp_sink_${session}`,
    'udpsrc',
    `name=${GST_NAMES.rtcpSource(track.kind)}`,
    address,
    `port=${track.rtcpPort}`,
    'reuse=false',
    'caps=application/x-rtcp',
    '!',
    `rtpbin.recv_rtcp_sink_${session}`,
  ];
}

/**
 * Depayloader and parser per codec. Nothing before the first keyframe reaches the muxer: the depayloaders
 * wait for a keyframe, and h264parse/vp9parse drop what they cannot start a stream with. H264 leaves as
 * `avc3` with the parameter sets in-band before every IDR, so a resolution change mid-recording decodes.
 */
function depayload(track: TrackPlan, plan: RecordingPlan, options: GstPipelineOptions): string[] {
  switch (track.codec) {
    case 'h264':
      return ['rtph264depay', 'wait-for-keyframe=true', '!', 'h264parse', 'config-interval=-1', '!', 'video/x-h264,stream-format=avc3,alignment=au'];
    case 'vp8':
      return ['rtpvp8depay', 'wait-for-keyframe=true'];
    case 'vp9':
      return ['rtpvp9depay', 'wait-for-keyframe=true', '!', 'vp9parse'];
    case 'av1':
      // no av1parse: it would turn each new sequence header into new caps (codec_data), which the muxers
      // refuse; the recorder's depacketizer already delivers keyframe-first temporal units with fixed caps
      return ['rtpgstdepay'];
    case 'opus':
      if (plan.audioCodec === 'aac') {
        // voaacenc rather than avenc_aac: measured here at ~3.4 % of a core and 18 MB per recording against
        // ~5.3 % and 58 MB (720p30 H264 + Opus → AAC, whole pipeline; README)
        return [
          'rtpopusdepay',
          '!',
          'opusdec',
          'plc=true',
          '!',
          'audioconvert',
          '!',
          'audioresample',
          '!',
          'audio/x-raw,rate=48000',
          '!',
          'voaacenc',
          `bitrate=${options.aacBitrate}`,
          '!',
          'aacparse',
        ];
      }
      return ['rtpopusdepay', '!', 'opusparse'];
  }
}

/** mp4mux is a GstAggregator (it queues per pad and writes from its own thread); the Matroska muxers are not */
function muxerHasOwnThread(container: Container): boolean {
  return container === 'mp4';
}

function muxer(container: Container, maxDurationMs: number, options: GstPipelineOptions): string[] {
  const name = `name=${GST_NAMES.muxer}`;
  switch (container) {
    case 'mp4':
      // robust muxing: the index lives in space reserved at the front and is rewritten every period, so the
      // file on disk is a playable MP4 at any moment (see README: crash safety)
      return [
        'mp4mux',
        name,
        `reserved-max-duration=${BigInt(maxDurationMs + MOOV_RESERVE_MARGIN_MS) * NS_PER_MS}`,
        `reserved-moov-update-period=${BigInt(options.moovUpdatePeriodMs) * NS_PER_MS}`,
      ];
    case 'webm':
      return ['webmmux', name, 'max-cluster-duration=1000000000'];
    case 'mkv':
      return ['matroskamux', name, 'max-cluster-duration=1000000000'];
  }
}
