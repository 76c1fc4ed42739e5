import { type CandidateInfo, type Capabilities, type CodecInfo, type DTLSInfo, type ICEInfo, type MediaInfo, type SDPInfo } from 'semantic-sdp';
import type { OfferedMedia } from './offer-media.js';
import type { CodecChoice } from './codec-choice.js';
import { SdpDirection } from './sdp-enums.js';
import { MediaEngineError } from '../errors.js';

const TRANSPORT_CC = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
const MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

/**
 * What we negotiate besides the codec. Video orientation (urn:3gpp:video-orientation) is left out on
 * purpose: without it the browser rotates frames itself, so recordings from phones come out upright.
 * No simulcast: we record one encoding.
 */
export const CAPABILITIES: Capabilities = {
  audio: {
    codecs: ['opus'],
    extensions: [MID, TRANSPORT_CC, ABS_SEND_TIME],
    rtcpfbs: [{ id: 'transport-cc' }],
  },
  video: {
    codecs: ['h264;packetization-mode=1', 'vp8', 'vp9', 'av1'],
    rtx: true,
    extensions: [MID, TRANSPORT_CC, ABS_SEND_TIME],
    rtcpfbs: [{ id: 'goog-remb' }, { id: 'transport-cc' }, { id: 'ccm', params: ['fir'] }, { id: 'nack' }, { id: 'nack', params: ['pli'] }],
  },
};

export interface AnswerLimits {
  /** MAX_VIDEO_KBPS; 0: no cap */
  maxVideoKbps: number;
}

/**
 * Announces the video cap on the answered m-line: `b=AS` (kbit/s) and `b=TIAS` (bit/s), which browsers apply
 * to their encoder's maximum, and Chromium's own `x-google-max-bitrate` on the codec. The congestion feedback
 * (REMB at the same value, see webrtc-endpoint.ts) holds senders that ignore the SDP.
 */
export function capVideoBitrate(media: MediaInfo, codec: CodecInfo, maxVideoKbps: number): void {
  if (maxVideoKbps <= 0) return;
  media.setBitrate(maxVideoKbps);
  codec.addParam('x-google-max-bitrate', String(maxVideoKbps));
}

/**
 * Where a Chromium publisher's bandwidth estimate starts (kbit/s). Its default (300) makes the first seconds of
 * a recording low quality while the estimate ramps up; on the loopback and LAN paths we serve, 2.5 Mbit/s is
 * sent without loss from the first frame, and the estimate still falls quickly on a narrower path.
 */
export const VIDEO_START_KBPS = 2500;

/** The start hint, never above the cap (Chromium would start above its own maximum otherwise). */
export function videoStartKbps(maxVideoKbps: number): number {
  return maxVideoKbps > 0 ? Math.min(VIDEO_START_KBPS, maxVideoKbps) : VIDEO_START_KBPS;
}

/**
 * `x-google-start-bitrate` on the answered video codec: Chromium's bandwidth estimate starts there instead of
 * at 300 kbit/s, so the first frames are encoded at the quality a recording needs. (Resolution is held by the
 * page itself: contentHint 'detail' and degradationPreference 'maintain-resolution'.)
 */
export function hintVideoStartBitrate(codec: CodecInfo, maxVideoKbps: number): void {
  codec.addParam('x-google-start-bitrate', String(videoStartKbps(maxVideoKbps)));
}

/**
 * Whether the publisher does transport-wide congestion control (its video offers the transport-cc header
 * extension): it then runs its own estimate, which a REMB only bounds from above, so a fixed REMB at the cap
 * is safe. A REMB-only publisher would take a fixed REMB as its whole estimate and lose Medooze's congestion
 * signal: it gets the cap from the SDP alone.
 */
export function offersTransportCc(offer: SDPInfo): boolean {
  const video = offer.getMediasByType('video')[0];
  return video !== undefined && [...video.getExtensions().values()].includes(TRANSPORT_CC);
}

export interface LocalTransportInfo {
  ice: ICEInfo;
  dtls: DTLSInfo;
  candidates: CandidateInfo[];
}

function firstCodec(codecs: Map<number, CodecInfo>): CodecInfo | undefined {
  for (const codec of codecs.values()) return codec;
  return undefined;
}

/**
 * Answers the offer with exactly the chosen codec on each chosen m-line (recvonly), and every other
 * m-line inactive. semantic-sdp alone would answer every offered variant of a codec name (all H264
 * profiles, both VP9 profiles), which would let the publisher switch to one we did not prepare for.
 */
export function buildAnswer(
  offer: { sdp: SDPInfo; medias: OfferedMedia[] },
  choice: CodecChoice,
  local: LocalTransportInfo,
  limits: AnswerLimits = { maxVideoKbps: 0 },
): SDPInfo {
  const answer = offer.sdp.answer({ ice: local.ice, dtls: local.dtls, candidates: local.candidates, capabilities: CAPABILITIES });
  const offered = offer.sdp.getMedias();
  answer.getMedias().forEach((media, index) => {
    const chosen = [choice.audio, choice.video].find((t) => t?.index === index);
    if (chosen) {
      const codec = media.getCodecForType(chosen.payloadType);
      if (!codec) throw new MediaEngineError(`the answer lost the chosen ${chosen.codec} codec`);
      media.setCodecs(new Map([[chosen.payloadType, codec]]));
      media.setDirection(SdpDirection.RECVONLY);
      if (media.getType() === 'video') {
        capVideoBitrate(media, codec, limits.maxVideoKbps);
        hintVideoStartBitrate(codec, limits.maxVideoKbps);
      }
      return;
    }
    media.setDirection(SdpDirection.INACTIVE);
    if (media.getType() === 'application') return;
    // an m-line must name at least one format, even when it is rejected: the first one offered
    const formats = offer.medias[index]?.codecs ?? [];
    const source = offered[index];
    const keep =
      formats.map((f) => source?.getCodecForType(f.payloadType)).find((c) => c !== undefined) ??
      firstCodec(source?.getCodecs() ?? new Map<number, CodecInfo>());
    if (keep) media.setCodecs(new Map([[keep.getType(), keep.clone()]]));
  });
  return answer;
}
