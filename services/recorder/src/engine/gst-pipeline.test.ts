import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecorderStartRequest, RtpTrackSpec } from '@recstack/contracts';
import { buildGstLaunchArgs, DEFAULT_GST_OPTIONS } from './gst-pipeline.js';
import { planRecording } from '../recording-plan.js';

const video = (codec: 'h264' | 'vp8' | 'vp9' | 'av1', port = 50000): RtpTrackSpec => ({ kind: 'video', codec, payloadType: 96, clockRate: 90000, port });
const audio = (port = 50002): RtpTrackSpec => ({ kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, port });
const argsFor = (tracks: RtpTrackSpec[], container: RecorderStartRequest['container'], audioCodec: RecorderStartRequest['audioCodec']) =>
  buildGstLaunchArgs(
    planRecording(
      { recordingId: 'rec_1', sessionId: 'ses_1', tracks, container, audioCodec },
      { engine: 'gstreamer', recordingsDir: '/rec', bindAddress: '0.0.0.0', maxDurationMs: 3_600_000 },
    ),
    { ...DEFAULT_GST_OPTIONS, idleProbeMs: 700 },
  );
/** the element chain as one string, to assert on order */
const chain = (args: string[]) => args.join(' ');

test('H264 + Opus → MP4/AAC: rtpbin receives RTP and RTCP per track, H264 is copied as avc3, Opus becomes AAC', () => {
  const args = argsFor([video('h264'), audio()], 'mp4', 'aac');
  const line = chain(args);
  assert.deepEqual(args.slice(0, 2), ['-e', '-m']);
  assert.match(line, /rtpbin name=rtpbin latency=200 do-lost=true/);
  assert.match(
    line,
    /udpsrc name=rtp_video address=0\.0\.0\.0 port=50000 reuse=false buffer-size=\d+ timeout=700000000 caps=application\/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96 ! rtpbin\.recv_rtp_sink_0/,
  );
  assert.match(line, /udpsrc name=rtcp_video address=0\.0\.0\.0 port=50001 reuse=false caps=application\/x-rtcp ! rtpbin\.recv_rtcp_sink_0/);
  assert.match(line, /udpsrc name=rtp_audio .* port=50002 .*encoding-name=OPUS,payload=111 ! rtpbin\.recv_rtp_sink_1/);
  assert.match(line, /udpsrc name=rtcp_audio .* port=50003 .* ! rtpbin\.recv_rtcp_sink_1/);
  assert.match(
    line,
    /rtpbin\. ! rtph264depay wait-for-keyframe=true ! h264parse config-interval=-1 ! video\/x-h264,stream-format=avc3,alignment=au ! tee name=video_tee ! mux\.video_0 /,
  );
  assert.match(line, /video_tee\. ! identity drop-buffer-flags=delta-unit silent=true ! checksumsink name=keyframes_video hash=md5 sync=false async=false/);
  assert.match(
    line,
    /rtpbin\. ! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! audio\/x-raw,rate=48000 ! voaacenc bitrate=128000 ! aacparse ! mux\.audio_0/,
  );
  assert.match(line, /mp4mux name=mux reserved-max-duration=4200000000000 reserved-moov-update-period=1000000000 ! filesink location=\/rec\/rec_1\.mp4$/); // mp4mux (an aggregator) queues per pad itself: no queue thread per branch, none on the keyframe tap
  assert.doesNotMatch(line, /\bqueue\b/);
});

test('Opus is copied when audioCodec is opus; MP4 takes it', () => {
  const line = chain(argsFor([video('h264'), audio()], 'mp4', 'opus'));
  assert.match(line, /rtpopusdepay ! opusparse ! mux\.audio_0/);
  assert.doesNotMatch(line, /voaacenc|opusdec/);
});

test('VP8 → WebM, VP9 → MP4 and Matroska: copied, waiting for a keyframe', () => {
  const vp8 = chain(argsFor([video('vp8'), audio()], 'webm', 'opus'));
  assert.match(vp8, /encoding-name=VP8/);
  assert.match(vp8, /rtpvp8depay wait-for-keyframe=true ! tee name=video_tee/);
  assert.match(vp8, /webmmux name=mux max-cluster-duration=1000000000 ! filesink location=\/rec\/rec_1\.webm$/);
  // the Matroska muxers (not aggregators in GStreamer 1.22) block a pad until every pad has data: queues stay
  assert.match(vp8, /tee name=video_tee ! queue ! mux\.video_0 video_tee\. ! identity drop-buffer-flags=delta-unit/);
  assert.match(vp8, /rtpopusdepay ! opusparse ! queue ! mux\.audio_0/);
  const vp9 = chain(argsFor([video('vp9')], 'mp4', null));
  assert.match(vp9, /rtpvp9depay wait-for-keyframe=true ! vp9parse ! tee/);
  assert.match(vp9, /matroskamux name=mux .* ! filesink location=\/rec\/rec_1\.mp4\.partial\.mkv$/, 'VP9 for MP4 is written as Matroska first');
  assert.match(chain(argsFor([video('vp9'), audio()], 'mkv', 'opus')), /matroskamux name=mux .*location=\/rec\/rec_1\.mkv$/);
});

test('H264 into Matroska: the child writes a crash-safe MP4 that is remuxed afterwards', () => {
  assert.match(chain(argsFor([video('h264'), audio()], 'mkv', 'opus')), /mp4mux name=mux .* ! filesink location=\/rec\/rec_1\.mkv\.partial\.mp4$/);
});

test('audio-only: one branch, no tap (the file starting is its first frame); video-only: no audio branch', () => {
  const audioOnly = chain(argsFor([audio(50010)], 'mp4', 'aac'));
  assert.doesNotMatch(audioOnly, /rtp_video|h264|tee|keyframes_video/);
  assert.match(audioOnly, /aacparse ! mux\.audio_0/);
  assert.match(audioOnly, /recv_rtp_sink_0/);
  const videoOnly = chain(argsFor([video('h264')], 'mp4', null));
  assert.doesNotMatch(videoOnly, /rtp_audio|opus|mux\.audio_0/);
});

test('the same plan always gives the same argv (pure)', () => {
  assert.deepEqual(argsFor([video('h264'), audio()], 'mp4', 'aac'), argsFor([video('h264'), audio()], 'mp4', 'aac'));
});

test('AV1: the recorder holds the RTP port and feeds the child X-GST RTP on fd 3; RTCP still goes to rtpbin', () => {
  const line = chain(argsFor([video('av1'), audio()], 'webm', 'opus'));
  assert.match(
    line,
    /fdsrc name=rtp_video fd=3 do-timestamp=true ! application\/x-rtp-stream ! rtpstreamdepay ! application\/x-rtp,media=application,clock-rate=90000,encoding-name=X-GST,payload=96 ! rtpbin\.recv_rtp_sink_0/,
  );
  assert.match(line, /udpsrc name=rtcp_video address=0\.0\.0\.0 port=50001 reuse=false caps=application\/x-rtcp ! rtpbin\.recv_rtcp_sink_0/);
  assert.doesNotMatch(line, /port=50000/, 'the AV1 RTP port is bound by the recorder, not by the child');
  assert.match(line, /rtpbin\. ! rtpgstdepay ! tee name=video_tee/);
  assert.match(chain(argsFor([video('av1'), audio()], 'mp4', 'aac')), /matroskamux name=mux .*location=\/rec\/rec_1\.mp4\.partial\.mkv$/);
});
