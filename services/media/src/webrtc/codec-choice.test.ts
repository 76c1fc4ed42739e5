import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chooseCodecs, type CodecChoice } from './codec-choice.js';
import { readOfferedMedia, type OfferedMedia } from './offer-media.js';
import { ServiceError } from '@recstack/service-kit';

/** Offers captured from Chromium 156 (fixtures/capture-offers.ts). */
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}.sdp`, import.meta.url), 'utf8');
const choose = (name: string): CodecChoice => chooseCodecs(readOfferedMedia(fixture(name)));
const summary = (c: CodecChoice) => ({
  video: c.video && `${c.video.codec}/${c.video.payloadType}`,
  audio: c.audio && `${c.audio.codec}/${c.audio.payloadType}`,
});
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof ServiceError ? err.code : 'not a ServiceError';
  }
  return undefined;
};

test("Chromium's default order (VP8 first) gives VP8 + Opus, with both sendonly and sendrecv transceivers", () => {
  assert.deepEqual(summary(choose('chromium-default')), { video: 'vp8/96', audio: 'opus/111' });
  assert.deepEqual(summary(choose('chromium-addtrack-default')), { video: 'vp8/96', audio: 'opus/111' });
  assert.deepEqual(summary(choose('chromium-vp8-first')), { video: 'vp8/96', audio: 'opus/111' });
});

test('H264 preferred: the first packetization-mode=1 variant, with its fmtp for the recorder', () => {
  const c = choose('chromium-h264-first');
  assert.deepEqual(summary(c), { video: 'h264/102', audio: 'opus/111' });
  assert.equal(c.video?.fmtp, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f');
  assert.equal(c.video?.clockRate, 90000);
  assert.equal(c.video?.rtxPayloadType, 103);
  assert.equal(c.video?.mid, '1');
});

test('an H264 packetization-mode=0 variant first is skipped for the next packetization-mode=1 one', () => {
  const c = choose('chromium-h264-pm0-first');
  assert.deepEqual(summary(c), { video: 'h264/116', audio: 'opus/111' });
  assert.match(c.video?.fmtp ?? '', /profile-level-id=4d001f/);
});

test('VP9 preferred gives VP9 profile 0; a 10-bit profile 2 first is skipped', () => {
  assert.deepEqual(summary(choose('chromium-vp9-first')), { video: 'vp9/98', audio: 'opus/111' });
  const c = choose('chromium-vp9-profile2-first');
  assert.deepEqual(summary(c), { video: 'vp9/98', audio: 'opus/111' });
  assert.equal(c.video?.fmtp, 'profile-id=0');
});

test('AV1 preferred gives AV1', () => {
  const c = choose('chromium-av1-first');
  assert.deepEqual(summary(c), { video: 'av1/45', audio: 'opus/111' });
  assert.equal(c.video?.fmtp, 'level-idx=5;profile=0;tier=0');
});

test('audio-only and video-only publishers', () => {
  const audioOnly = choose('chromium-audio-only');
  assert.deepEqual(summary(audioOnly), { video: undefined, audio: 'opus/111' });
  assert.deepEqual([audioOnly.audio?.clockRate, audioOnly.audio?.channels, audioOnly.audio?.fmtp], [48000, 2, 'minptime=10;useinbandfec=1']);
  assert.deepEqual(summary(choose('chromium-video-only')), { video: 'vp8/96', audio: undefined });
});

test('an offer with nothing we can record is UNSUPPORTED_CODEC, naming what was offered', () => {
  const medias = readOfferedMedia(fixture('chromium-pcmu-audio-only'));
  assert.throws(
    () => chooseCodecs(medias),
    (err: unknown) => err instanceof ServiceError && err.code === 'UNSUPPORTED_CODEC' && /PCMU/.test(err.message),
  );
});

test('a video m-line without a codec of ours still records the audio', () => {
  const sdp = fixture('chromium-default')
    .replace(/^(m=video \d+ UDP\/TLS\/RTP\/SAVPF).*$/m, '$1 120')
    .replace(/a=rtpmap:120 ulpfec/, 'a=rtpmap:120 H265');
  assert.deepEqual(summary(chooseCodecs(readOfferedMedia(sdp))), { video: undefined, audio: 'opus/111' });
});

test('media the publisher does not send (recvonly, inactive, port 0) is not recorded', () => {
  const recvonly = fixture('chromium-default').replace(/a=sendonly/g, 'a=recvonly');
  assert.equal(
    codeOf(() => chooseCodecs(readOfferedMedia(recvonly))),
    'BAD_REQUEST',
  );
  const videoRejected = fixture('chromium-default').replace(/^m=video \d+/m, 'm=video 0');
  assert.deepEqual(summary(chooseCodecs(readOfferedMedia(videoRejected))), { video: undefined, audio: 'opus/111' });
  const audioInactive = fixture('chromium-default').replace(/a=sendonly\r?\n(a=msid:\S+ \S+\r?\n)?/, 'a=inactive\r\n');
  assert.deepEqual(summary(chooseCodecs(readOfferedMedia(audioInactive))).audio, undefined);
});

test('a chosen m-line without a=mid is malformed (we bundle by mid)', () => {
  const noMid = fixture('chromium-video-only').replace(/a=mid:0\r?\n/, '');
  assert.equal(
    codeOf(() => chooseCodecs(readOfferedMedia(noMid))),
    'BAD_REQUEST',
  );
});

test('the chooser follows the m-line order, not the order of the rtpmap lines', () => {
  const medias: OfferedMedia[] = [
    {
      index: 0,
      kind: 'video',
      mid: 'v',
      port: 9,
      direction: 'sendonly',
      codecs: [
        { payloadType: 98, name: 'vp9', clockRate: 90000, channels: undefined, params: { 'profile-id': '0' }, fmtp: 'profile-id=0', rtxPayloadType: undefined },
        { payloadType: 96, name: 'vp8', clockRate: 90000, channels: undefined, params: {}, fmtp: undefined, rtxPayloadType: undefined },
      ],
    },
  ];
  assert.equal(chooseCodecs(medias).video?.codec, 'vp9');
  const sdp =
    'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 98 96\r\na=mid:v\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\n';
  assert.equal(chooseCodecs(readOfferedMedia(sdp)).video?.codec, 'vp9');
});

test('codecs with a wrong clock rate are not ours', () => {
  const sdp = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=sendonly\r\na=rtpmap:111 opus/44100/2\r\n';
  assert.equal(
    codeOf(() => chooseCodecs(readOfferedMedia(sdp))),
    'UNSUPPORTED_CODEC',
  );
});
