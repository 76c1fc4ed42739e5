import { SDPInfo, type DTLSInfo, type ICEInfo } from 'semantic-sdp';
import { MalformedOfferError } from '../errors.js';
import { DtlsSetup } from './sdp-enums.js';
import { readOfferedMedia, type OfferedMedia } from './offer-media.js';

export interface ParsedOffer {
  sdp: SDPInfo;
  medias: OfferedMedia[];
  ice: ICEInfo;
  dtls: DTLSInfo;
}

// RFC 8839 ice-char is ALPHA / DIGIT / "+" / "/"; a few publishers also use "-", "_" and "=". Anything else
// (notably ":", which joins ufrags into the STUN username) is refused before it reaches native code.
const ICE_UFRAG = /^[A-Za-z0-9+/=_-]{4,256}$/;
const ICE_PWD = /^[A-Za-z0-9+/=_-]{22,256}$/;
const FINGERPRINT = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){15,63}$/;
const HASHES = new Set(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']);

function isSsrc(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 0xffffffff;
}

function processSdp(text: string): SDPInfo {
  try {
    return SDPInfo.process(text);
  } catch (cause) {
    throw new MalformedOfferError('it cannot be parsed', { cause });
  }
}

/**
 * Parses an SDP offer and checks everything Medooze's native code will rely on, so a malformed or
 * hostile offer is refused with BAD_REQUEST here instead of failing (or crashing) deeper down.
 */
export function parseOffer(text: string): ParsedOffer {
  if (!/^v=0\r?\n/.test(text)) throw new MalformedOfferError('it must start with "v=0"');
  const sdp = processSdp(text);
  const medias = readOfferedMedia(text);
  if (medias.length === 0) throw new MalformedOfferError('it has no m-line');
  const parsedMedias = sdp.getMedias();
  if (parsedMedias.length !== medias.length) throw new MalformedOfferError('some m-lines cannot be parsed');
  for (const media of medias) {
    const parsed = parsedMedias[media.index];
    if (!parsed || parsed.getType() !== media.kind || (media.mid !== undefined && parsed.getId() !== media.mid)) {
      throw new MalformedOfferError(`m-line ${media.index} cannot be parsed`);
    }
    if (!Number.isInteger(media.port) || media.port < 0 || media.port > 65535) {
      throw new MalformedOfferError(`m-line ${media.index} has an invalid port`);
    }
  }
  const mids = medias.map((m) => m.mid).filter((m): m is string => m !== undefined);
  if (new Set(mids).size !== mids.length) throw new MalformedOfferError('two m-lines share one a=mid');

  const ice = sdp.getICE();
  if (!ice || !ICE_UFRAG.test(String(ice.getUfrag())) || !ICE_PWD.test(String(ice.getPwd()))) {
    throw new MalformedOfferError('missing or invalid a=ice-ufrag / a=ice-pwd');
  }
  const dtls = sdp.getDTLS();
  if (!dtls || !HASHES.has(String(dtls.getHash()).toLowerCase()) || !FINGERPRINT.test(String(dtls.getFingerprint()))) {
    throw new MalformedOfferError('missing or invalid a=fingerprint');
  }
  const setup: unknown = dtls.getSetup();
  if (setup !== DtlsSetup.ACTPASS && setup !== DtlsSetup.ACTIVE && setup !== DtlsSetup.PASSIVE) {
    throw new MalformedOfferError('a=setup must be actpass, active or passive');
  }
  for (const stream of sdp.getStreams().values()) {
    for (const track of stream.getTracks().values()) {
      const ssrcs = [...track.getSSRCs(), ...track.getSourceGroups().flatMap((g) => g.getSSRCs())];
      if (!ssrcs.every(isSsrc)) throw new MalformedOfferError(`track ${track.getId()} has an invalid SSRC`);
    }
  }
  return { sdp, medias, ice, dtls };
}
