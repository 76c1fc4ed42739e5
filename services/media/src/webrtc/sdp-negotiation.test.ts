import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DTLSInfo, ICEInfo, CandidateInfo } from 'semantic-sdp';
import { ServiceError } from '@recstack/service-kit';
import { chooseCodecs } from './codec-choice.js';
import { readOfferedMedia } from './offer-media.js';
import { buildAnswer, offersTransportCc, VIDEO_START_KBPS } from './sdp-answer.js';
import { parseOffer } from './sdp-offer.js';
import { DtlsSetup } from './sdp-enums.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}.sdp`, import.meta.url), 'utf8');
const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
const local = () => ({
  ice: ICEInfo.generate(true),
  dtls: new DTLSInfo(DtlsSetup.PASSIVE, 'sha-256', FINGERPRINT),
  candidates: [new CandidateInfo('1', 1, 'UDP', 2130706431, '127.0.0.1', 40000, 'host')],
});

function answerFor(sdp: string): string {
  const offer = parseOffer(sdp);
  return buildAnswer(offer, chooseCodecs(offer.medias), local()).toString();
}

const rejects = (sdp: string, code = 'BAD_REQUEST') =>
  assert.throws(
    () => parseOffer(sdp),
    (err: unknown) => err instanceof ServiceError && err.code === code,
    JSON.stringify(sdp.slice(0, 40)),
  );

test('readOfferedMedia: kinds, mids, directions and codecs in m-line order without rtx/red/fec', () => {
  const medias = readOfferedMedia(fixture('chromium-default'));
  assert.deepEqual(
    medias.map((m) => [m.index, m.kind, m.mid, m.direction]),
    [
      [0, 'audio', '0', 'sendonly'],
      [1, 'video', '1', 'sendonly'],
    ],
  );
  assert.deepEqual(
    medias[0]?.codecs.map((c) => c.name),
    ['opus', 'g722', 'pcmu', 'pcma', 'cn', 'telephone-event', 'telephone-event'],
  );
  assert.deepEqual(medias[1]?.codecs.map((c) => c.name).slice(0, 3), ['vp8', 'h264', 'h264']);
  assert.ok(!medias[1]?.codecs.some((c) => ['rtx', 'red', 'ulpfec'].includes(c.name)));
  assert.deepEqual(readOfferedMedia('garbage\n\u0000'), []);
});

test('every Chromium fixture parses, and the answer carries exactly the chosen codec per m-line', () => {
  const expected: Record<string, string[]> = {
    'chromium-default': ['opus', 'VP8'],
    'chromium-h264-first': ['opus', 'H264'],
    'chromium-h264-pm0-first': ['opus', 'H264'],
    'chromium-vp9-first': ['opus', 'VP9'],
    'chromium-vp9-profile2-first': ['opus', 'VP9'],
    'chromium-av1-first': ['opus', 'AV1'],
    'chromium-audio-only': ['opus'],
    'chromium-video-only': ['VP8'],
  };
  for (const [name, codecs] of Object.entries(expected)) {
    const answer = answerFor(fixture(name));
    const media = answer.split(/\r?\nm=/).slice(1);
    assert.equal(media.length, codecs.length, name);
    media.forEach((section, i) => {
      const names = [...section.matchAll(/a=rtpmap:\d+ ([^/]+)\//g)].map((m) => m[1]).filter((n) => n !== 'rtx');
      assert.deepEqual(names, [codecs[i]], `${name} m-line ${i}`);
      assert.match(section, /a=recvonly/, `${name} m-line ${i} is recvonly`);
    });
    assert.match(answer, /a=ice-lite/);
    assert.match(answer, /a=setup:passive/);
    assert.match(answer, /a=candidate:.* 127\.0\.0\.1 40000 typ host/);
    assert.doesNotMatch(answer, /urn:3gpp:video-orientation/, 'the browser rotates frames itself');
  }
});

test('the chosen H264 keeps its profile and RTX; VP9 profile 2 is not answered', () => {
  const h264 = answerFor(fixture('chromium-h264-pm0-first'));
  assert.match(h264, /a=rtpmap:116 H264\/90000/);
  assert.match(h264, /a=fmtp:116 .*profile-level-id=4d001f/);
  assert.match(h264, /a=rtpmap:117 rtx\/90000/);
  assert.match(h264, /a=rtcp-fb:116 nack pli/);
  const vp9 = answerFor(fixture('chromium-vp9-profile2-first'));
  assert.doesNotMatch(vp9, /a=rtpmap:100 /);
  assert.match(vp9, /a=fmtp:98 profile-id=0/);
});

test('an m-line we do not record is answered inactive with one format, keeping the answer valid', () => {
  const sdp = fixture('chromium-default')
    .replace(/^(m=video \d+ UDP\/TLS\/RTP\/SAVPF).*$/m, '$1 120')
    .replace(/a=rtpmap:120 ulpfec/, 'a=rtpmap:120 H265');
  const answer = answerFor(sdp);
  const video = answer.split(/\r?\nm=/)[2] ?? '';
  assert.match(video, /^video 9 UDP\/TLS\/RTP\/SAVPF 120/);
  assert.match(video, /a=inactive/);
});

test('parseOffer refuses what native code must never see', () => {
  const real = fixture('chromium-h264-first');
  rejects('');
  rejects('hello');
  rejects('v=0\r\n');
  rejects('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n');
  rejects(real.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:a:b'));
  rejects(real.replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:short'));
  rejects(real.replace(/a=fingerprint:sha-256/g, 'a=fingerprint:md5'));
  rejects(real.replace(/a=fingerprint:sha-256 \S+/g, 'a=fingerprint:sha-256 00:11'));
  rejects(real.replace(/a=setup:actpass/g, 'a=setup:holdconn'));
  rejects(real.replace(/a=mid:1/g, 'a=mid:0'));
  rejects(real.replace(/^m=video \d+/m, 'm=video 99999'));
});

test('MAX_VIDEO_KBPS: the video m-line of the answer announces the cap (b=AS, b=TIAS, x-google-max-bitrate); audio and 0 are left alone', () => {
  for (const name of ['chromium-default', 'chromium-h264-first', 'chromium-vp9-first', 'chromium-av1-first']) {
    const offer = parseOffer(fixture(name));
    const answer = buildAnswer(offer, chooseCodecs(offer.medias), local(), { maxVideoKbps: 2500 }).toString();
    const [audio = '', video = ''] = answer.split(/\r?\nm=/).slice(1);
    assert.match(video, /^b=AS:2500$/m, name);
    assert.match(video, /^b=TIAS:2500000$/m, name);
    const payloadType = /^video \d+ [A-Z/]+ (\d+)/.exec(video)?.[1];
    assert.match(video, new RegExp(`^a=fmtp:${payloadType} .*x-google-max-bitrate=2500`, 'm'), `${name}: on the chosen codec`);
    assert.doesNotMatch(audio, /^b=|x-google-max-bitrate/m, `${name}: audio is not capped`);
    const uncapped = buildAnswer(offer, chooseCodecs(offer.medias), local(), { maxVideoKbps: 0 }).toString();
    assert.doesNotMatch(uncapped, /^b=|x-google-max-bitrate/m, `${name}: 0 is no cap`);
  }
});

test('the answer starts the video bandwidth estimate at VIDEO_START_KBPS, never above the cap', () => {
  for (const name of ['chromium-default', 'chromium-h264-first', 'chromium-vp9-first', 'chromium-av1-first']) {
    const offer = parseOffer(fixture(name));
    for (const [cap, start] of [
      [0, VIDEO_START_KBPS],
      [6000, VIDEO_START_KBPS],
      [800, 800],
    ] as const) {
      const answer = buildAnswer(offer, chooseCodecs(offer.medias), local(), { maxVideoKbps: cap }).toString();
      const [audio = '', video = ''] = answer.split(/\r?\nm=/).slice(1);
      const payloadType = /^video \d+ [A-Z/]+ (\d+)/.exec(video)?.[1];
      assert.match(video, new RegExp(`^a=fmtp:${payloadType} .*x-google-start-bitrate=${start}(;|$)`, 'm'), `${name}, cap ${cap}`);
      assert.doesNotMatch(audio, /x-google-start-bitrate/, `${name}: not on audio`);
    }
  }
});

test('the REMB cap is used only for publishers with transport-wide congestion control (their own estimate stays)', () => {
  assert.equal(offersTransportCc(parseOffer(fixture('chromium-default')).sdp), true);
  const withoutTwcc = fixture('chromium-default')
    .split(/\r?\n/)
    .filter((l) => !l.includes('transport-wide-cc'))
    .join('\r\n');
  assert.equal(offersTransportCc(parseOffer(withoutTwcc).sdp), false);
  assert.equal(offersTransportCc(parseOffer(fixture('chromium-audio-only')).sdp), false, 'no video, nothing to cap');
});
