import type { AudioCodec, MediaKind, VideoCodec } from '@recstack/contracts';
import { MalformedOfferError, UnsupportedCodecError } from '../errors.js';
import type { OfferedCodec, OfferedMedia } from './offer-media.js';

/** One track we answer and record: the single codec we accept on that m-line. */
export interface ChosenTrack<C extends VideoCodec | AudioCodec = VideoCodec | AudioCodec> {
  kind: MediaKind;
  /** index of the m-line in the offer */
  index: number;
  mid: string;
  codec: C;
  payloadType: number;
  clockRate: number;
  channels: number | undefined;
  /** fmtp parameters as offered (passed on to the recorder, e.g. H264 profile-level-id) */
  fmtp: string | undefined;
  rtxPayloadType: number | undefined;
}

export interface CodecChoice {
  audio: ChosenTrack<AudioCodec> | undefined;
  video: ChosenTrack<VideoCodec> | undefined;
}

interface Rule<C extends string> {
  codec: C;
  accepts(c: OfferedCodec): boolean;
}

/** What we can record, and the constraints a codec must meet for our depacketizers and muxers. */
const VIDEO_RULES: Array<Rule<VideoCodec>> = [
  // packetization-mode=0 (single NAL unit) is rare and not what browsers send by default
  { codec: 'h264', accepts: (c) => c.name === 'h264' && c.clockRate === 90000 && c.params['packetization-mode'] === '1' },
  { codec: 'vp8', accepts: (c) => c.name === 'vp8' && c.clockRate === 90000 },
  // profile 2 is 10-bit; our MP4/WebM paths expect 8-bit 4:2:0
  { codec: 'vp9', accepts: (c) => c.name === 'vp9' && c.clockRate === 90000 && (c.params['profile-id'] ?? '0') === '0' },
  { codec: 'av1', accepts: (c) => c.name === 'av1' && c.clockRate === 90000 && (c.params.profile ?? '0') === '0' },
];
const AUDIO_RULES: Array<Rule<AudioCodec>> = [{ codec: 'opus', accepts: (c) => c.name === 'opus' && c.clockRate === 48000 }];

export const SUPPORTED_CODECS_TEXT = 'video: H264 (packetization-mode=1), VP8, VP9 (profile 0), AV1 (profile 0); audio: Opus';

function isPublished(media: OfferedMedia): boolean {
  return media.port !== 0 && (media.direction === 'sendonly' || media.direction === 'sendrecv');
}

function pick<C extends VideoCodec | AudioCodec>(kind: MediaKind, medias: OfferedMedia[], rules: Array<Rule<C>>): ChosenTrack<C> | undefined {
  for (const media of medias) {
    if (media.kind !== kind || !isPublished(media)) continue;
    // the publisher's order decides: the first offered codec that any rule accepts wins
    for (const offered of media.codecs) {
      const rule = rules.find((r) => r.accepts(offered));
      if (!rule) continue;
      if (media.mid === undefined || media.mid.length === 0) throw new MalformedOfferError(`the ${kind} m-line has no a=mid`);
      return {
        kind,
        index: media.index,
        mid: media.mid,
        codec: rule.codec,
        payloadType: offered.payloadType,
        clockRate: offered.clockRate,
        channels: kind === 'audio' ? (offered.channels ?? 2) : undefined,
        fmtp: offered.fmtp,
        rtxPayloadType: kind === 'video' ? offered.rtxPayloadType : undefined,
      };
    }
  }
  return undefined;
}

function describeOffered(medias: OfferedMedia[]): string {
  const parts = medias.filter(isPublished).map(
    (m) =>
      `${m.kind}: ${
        m.codecs
          .map((c) => c.name.toUpperCase())
          .filter((n, i, all) => all.indexOf(n) === i)
          .join(', ') || 'none'
      }`,
  );
  return parts.join('; ');
}

/**
 * Picks what we answer and record: on the first published video m-line, the publisher's most preferred
 * video codec among H264 (packetization-mode=1), VP8, VP9 profile 0 and AV1; on the first published
 * audio m-line, Opus. Either may be missing (audio-only, video-only publishers), not both.
 */
export function chooseCodecs(medias: OfferedMedia[]): CodecChoice {
  const published = medias.filter((m) => (m.kind === 'audio' || m.kind === 'video') && isPublished(m));
  if (published.length === 0) throw new MalformedOfferError('the offer sends no audio or video');
  const choice: CodecChoice = { video: pick('video', medias, VIDEO_RULES), audio: pick('audio', medias, AUDIO_RULES) };
  if (!choice.video && !choice.audio) {
    throw new UnsupportedCodecError(`nothing in the offer can be recorded (offered ${describeOffered(medias)}); supported ${SUPPORTED_CODECS_TEXT}`);
  }
  return choice;
}

export function chosenTracks(choice: CodecChoice): ChosenTrack[] {
  return [choice.video, choice.audio].filter((t): t is ChosenTrack => t !== undefined);
}
