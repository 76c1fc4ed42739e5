import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecorderStartRequest, RtpTrackSpec } from '@recstack/contracts';
import { buildFfmpegArgs, buildFfmpegSdp, DEFAULT_FFMPEG_OPTIONS } from './ffmpeg-command.js';
import { planRecording } from '../recording-plan.js';

const video: RtpTrackSpec = {
  kind: 'video',
  codec: 'h264',
  payloadType: 102,
  clockRate: 90000,
  fmtp: 'packetization-mode=1;profile-level-id=42e01f',
  port: 50000,
};
const audio: RtpTrackSpec = { kind: 'audio', codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', port: 50002 };
const plan = (tracks: RtpTrackSpec[], container: RecorderStartRequest['container'], audioCodec: RecorderStartRequest['audioCodec']) =>
  planRecording(
    { recordingId: 'rec_1', sessionId: 'ses_1', tracks, container, audioCodec },
    { engine: 'ffmpeg', recordingsDir: '/rec', bindAddress: '127.0.0.1', maxDurationMs: 3_600_000 },
  );

test('the SDP describes each track at its port with its payload type, fmtp and RTCP port', () => {
  const sdp = buildFfmpegSdp(plan([video, audio], 'mp4', 'aac'));
  assert.equal(
    sdp,
    [
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=recstack rec_1',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=video 50000 RTP/AVP 102',
      'a=rtpmap:102 H264/90000',
      'a=fmtp:102 packetization-mode=1;profile-level-id=42e01f',
      'a=rtcp:50001',
      'a=recvonly',
      'm=audio 50002 RTP/AVP 111',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtcp:50003',
      'a=recvonly',
      '',
    ].join('\r\n'),
  );
});

test('MP4: video copied as avc3, Opus → AAC, fragmented output, SDP from stdin, progress on stdout', () => {
  const args = buildFfmpegArgs(plan([video, audio], 'mp4', 'aac'), { ...DEFAULT_FFMPEG_OPTIONS, rtpTimeoutMs: 7000 });
  const line = args.join(' ');
  assert.match(line, /-protocol_whitelist pipe,rtp,udp -f sdp -localaddr 127\.0\.0\.1 -listen_timeout 7 .* -i pipe:0/);
  assert.match(line, /-map 0:v:0 -c:v copy -tag:v avc3 -map 0:a:0 -c:a aac -b:a 128000/);
  assert.match(line, /-f mp4 -movflags \+empty_moov\+default_base_moof\+frag_keyframe -frag_duration 1000000 -flush_packets 1/);
  assert.match(line, /-progress pipe:1 -stats_period 0\.25 -y \/rec\/rec_1\.mp4$/);
  assert.ok(!args.includes('-copyinkf'), 'frames before the first keyframe must be dropped');
});

test('WebM/Matroska and Opus copy; audio-only', () => {
  const webm = buildFfmpegArgs(plan([{ ...video, codec: 'vp8', fmtp: undefined }, audio], 'webm', 'opus')).join(' ');
  assert.match(webm, /-c:v copy -map 0:a:0 -c:a copy -f webm -cluster_time_limit 1000/);
  assert.doesNotMatch(webm, /avc3/);
  const audioOnly = buildFfmpegArgs(plan([audio], 'mp4', 'aac')).join(' ');
  assert.doesNotMatch(audioOnly, /0:v/);
  assert.match(buildFfmpegSdp(plan([audio], 'mp4', 'aac')), /^m=audio 50002 RTP\/AVP 111$/m);
});
