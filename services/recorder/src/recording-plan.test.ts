import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecorderStartRequest, RtpTrackSpec } from '@recstack/contracts';
import { ServiceError } from '@recstack/service-kit';
import { boundPorts, parseFmtp, planRecording, type PlanSettings } from './recording-plan.js';

const settings: PlanSettings = { engine: 'gstreamer', recordingsDir: '/rec', bindAddress: '127.0.0.1', maxDurationMs: 3_600_000 };
const video = (over: Partial<RtpTrackSpec> = {}): RtpTrackSpec => ({
  kind: 'video',
  codec: 'h264',
  payloadType: 96,
  clockRate: 90000,
  fmtp: 'packetization-mode=1',
  port: 50000,
  ...over,
});
const audio = (over: Partial<RtpTrackSpec> = {}): RtpTrackSpec => ({
  kind: 'audio',
  codec: 'opus',
  payloadType: 111,
  clockRate: 48000,
  channels: 2,
  port: 50002,
  ...over,
});
const req = (
  tracks: RtpTrackSpec[],
  container: RecorderStartRequest['container'] = 'mp4',
  audioCodec: RecorderStartRequest['audioCodec'] = 'aac',
): RecorderStartRequest => ({
  recordingId: 'rec_1',
  sessionId: 'ses_1',
  tracks,
  container,
  audioCodec,
});
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof ServiceError ? err.code : 'not a ServiceError';
  }
  return 'no error';
};

test('H264 + Opus into MP4: AAC, crash-safe MP4 written in place and compacted at the end', () => {
  const plan = planRecording(req([video(), audio()]), settings);
  assert.equal(plan.container, 'mp4');
  assert.equal(plan.audioCodec, 'aac');
  assert.equal(plan.fileName, 'rec_1.mp4');
  assert.equal(plan.outputPath, '/rec/rec_1.mp4');
  assert.equal(plan.writePath, plan.outputPath);
  assert.equal(plan.finalize, 'compact-mp4');
  assert.equal(plan.video?.rtcpPort, 50001);
  assert.equal(plan.audio?.channels, 2);
  assert.deepEqual(boundPorts(plan), [50000, 50001, 50002, 50003]);
});

test('AAC from GStreamer is planned to move 1600 samples earlier at the end; Opus and FFmpeg AAC are not', () => {
  assert.equal(planRecording(req([video(), audio()]), settings).audioLeadSamples, 1600);
  assert.equal(planRecording(req([video({ codec: 'vp8', fmtp: undefined }), audio()], 'mkv', 'aac'), settings).audioLeadSamples, 1600);
  assert.equal(planRecording(req([video(), audio()], 'mp4', 'opus'), settings).audioLeadSamples, 0);
  assert.equal(planRecording(req([video(), audio()]), { ...settings, engine: 'ffmpeg' }).audioLeadSamples, 0);
  assert.equal(planRecording(req([video()], 'mp4', null), settings).audioLeadSamples, 0);
});

test('H264 into Matroska is written as MP4 and remuxed (matroskamux refuses resolution changes)', () => {
  const plan = planRecording(req([video(), audio()], 'mkv', 'opus'), settings);
  assert.equal(plan.writeContainer, 'mp4');
  assert.equal(plan.writePath, '/rec/rec_1.mkv.partial.mp4');
  assert.equal(plan.finalize, 'remux');
  const ffmpeg = planRecording(req([video(), audio()], 'mkv', 'opus'), { ...settings, engine: 'ffmpeg' });
  assert.equal(ffmpeg.writeContainer, 'mkv');
  assert.equal(ffmpeg.finalize, 'none');
});

test('VP8/VP9 into WebM and Matroska are final as written', () => {
  const plan = planRecording(req([video({ codec: 'vp8', fmtp: undefined }), audio()], 'webm', 'opus'), settings);
  assert.equal(plan.finalize, 'none');
  assert.equal(plan.writePath, '/rec/rec_1.webm');
});

test('VP9 into MP4 is written as Matroska and remuxed (mp4mux refuses VP9 resolution changes)', () => {
  const plan = planRecording(req([video({ codec: 'vp9', fmtp: undefined }), audio()], 'mp4', 'aac'), settings);
  assert.equal(plan.writeContainer, 'mkv');
  assert.equal(plan.writePath, '/rec/rec_1.mp4.partial.mkv');
  assert.equal(plan.finalize, 'remux');
  assert.equal(planRecording(req([video({ codec: 'vp9', fmtp: undefined })], 'mp4', null), { ...settings, engine: 'ffmpeg' }).finalize, 'compact-mp4');
});

test('audio-only and video-only requests are planned', () => {
  const audioOnly = planRecording(req([audio()], 'mp4', 'aac'), settings);
  assert.equal(audioOnly.video, undefined);
  assert.equal(audioOnly.audioCodec, 'aac');
  const videoOnly = planRecording(req([video()], 'mp4', null), settings);
  assert.equal(videoOnly.audio, undefined);
  assert.equal(videoOnly.audioCodec, null);
  // an audio codec for a publisher without audio is moot, not an error
  assert.equal(planRecording(req([video()], 'mp4', 'aac'), settings).audioCodec, null);
});

test('impossible combinations are refused before anything starts', () => {
  assert.equal(
    code(() => planRecording(req([video(), audio()], 'webm', 'opus'), settings)),
    'UNSUPPORTED_FORMAT',
  );
  assert.equal(
    code(() => planRecording(req([video({ codec: 'vp8' }), audio()], 'mp4', 'aac'), settings)),
    'UNSUPPORTED_FORMAT',
  );
  assert.equal(
    code(() => planRecording(req([video({ codec: 'vp8' }), audio()], 'webm', 'aac'), settings)),
    'UNSUPPORTED_FORMAT',
  );
  assert.match(
    String(
      (() => {
        try {
          planRecording(req([video(), audio()], 'webm', 'opus'), settings);
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    ),
    /H264 video cannot be written to webm/,
  );
});

test('AV1: GStreamer writes it as Matroska for MP4 (remuxed); FFmpeg refuses it with UNSUPPORTED_CODEC', () => {
  const plan = planRecording(req([video({ codec: 'av1', fmtp: undefined }), audio()], 'mp4', 'aac'), settings);
  assert.equal(plan.writeContainer, 'mkv');
  assert.equal(plan.finalize, 'remux');
  assert.equal(planRecording(req([video({ codec: 'av1', fmtp: undefined }), audio()], 'webm', 'opus'), settings).finalize, 'none');
  assert.equal(
    code(() => planRecording(req([video({ codec: 'av1', fmtp: undefined }), audio()], 'mp4', 'aac'), { ...settings, engine: 'ffmpeg' })),
    'UNSUPPORTED_CODEC',
  );
});

test('bad RTP parameters are refused', () => {
  assert.equal(
    code(() => planRecording(req([video({ clockRate: 48000 })]), settings)),
    'BAD_REQUEST',
  );
  assert.equal(
    code(() => planRecording(req([audio({ clockRate: 8000 })]), settings)),
    'BAD_REQUEST',
  );
  assert.equal(
    code(() => planRecording(req([video({ fmtp: 'packetization-mode=2' })]), settings)),
    'UNSUPPORTED_CODEC',
  );
  // the fmtp goes into an SDP for FFmpeg: no line breaks can be smuggled in
  assert.equal(
    code(() => planRecording(req([video({ fmtp: 'packetization-mode=1\r\nm=video 9 RTP/AVP 96' })]), settings)),
    'BAD_REQUEST',
  );
});

test('fmtp parameters are parsed leniently', () => {
  assert.deepEqual(
    [...parseFmtp(' Packetization-Mode=1; profile-level-id=42e01f;;level-asymmetry-allowed=1 ')],
    [
      ['packetization-mode', '1'],
      ['profile-level-id', '42e01f'],
      ['level-asymmetry-allowed', '1'],
    ],
  );
  assert.deepEqual([...parseFmtp('sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM48gA==')], [['sprop-parameter-sets', 'Z0IAH5WoFAFuQA==,aM48gA==']]);
  assert.deepEqual([...parseFmtp('')], []);
});
