/**
 * Reads the media sections of an SDP offer as plain data: kind, mid, direction and the codecs in the
 * order of the m-line, which is the publisher's order of preference (RFC 3264 §5.1). semantic-sdp keeps
 * neither that order nor clock rates, so the codec chooser works from this view instead.
 */

export type OfferDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface OfferedCodec {
  payloadType: number;
  /** lower case encoding name, e.g. "h264", "opus" */
  name: string;
  clockRate: number;
  channels: number | undefined;
  /** fmtp parameters by name (keys lower case) */
  params: Record<string, string>;
  /** the fmtp line's parameters exactly as offered, e.g. "minptime=10;useinbandfec=1" */
  fmtp: string | undefined;
  /** payload type of the associated RTX stream, if offered */
  rtxPayloadType: number | undefined;
}

export interface OfferedMedia {
  /** position of the m-line in the offer */
  index: number;
  kind: string;
  mid: string | undefined;
  port: number;
  direction: OfferDirection;
  /** media codecs in order of preference; rtx, red, ulpfec and flexfec are left out */
  codecs: OfferedCodec[];
}

const NON_MEDIA_CODECS = new Set(['rtx', 'red', 'ulpfec', 'flexfec-03', 'flexfec']);
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

interface RawSection {
  index: number;
  mLine: string;
  attributes: string[];
}

function splitSections(sdp: string): { session: string[]; sections: RawSection[] } {
  const session: string[] = [];
  const sections: RawSection[] = [];
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.length === 0) continue;
    if (line.startsWith('m=')) {
      sections.push({ index: sections.length, mLine: line.slice(2), attributes: [] });
    } else if (line.startsWith('a=')) {
      (sections.at(-1)?.attributes ?? session).push(line.slice(2));
    }
  }
  return { session, sections };
}

function parseParams(fmtp: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (key.length > 0) params[key] = eq < 0 ? '' : part.slice(eq + 1).trim();
  }
  return params;
}

function readSection(section: RawSection, sessionDirection: OfferDirection): OfferedMedia {
  const [kind = '', portText = '', , ...formats] = section.mLine.split(/\s+/);
  const rtpmap = new Map<number, { name: string; clockRate: number; channels: number | undefined }>();
  const fmtp = new Map<number, string>();
  let mid: string | undefined;
  let direction = sessionDirection;
  for (const attr of section.attributes) {
    const colon = attr.indexOf(':');
    const name = colon < 0 ? attr : attr.slice(0, colon);
    const value = colon < 0 ? '' : attr.slice(colon + 1);
    if (DIRECTIONS.has(name)) direction = name as OfferDirection;
    else if (name === 'mid') mid = value.trim();
    else if (name === 'rtpmap') {
      const match = /^(\d{1,3})\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value);
      if (match) {
        rtpmap.set(Number(match[1]), {
          name: (match[2] ?? '').toLowerCase(),
          clockRate: Number(match[3]),
          channels: match[4] === undefined ? undefined : Number(match[4]),
        });
      }
    } else if (name === 'fmtp') {
      const match = /^(\d{1,3})\s+(.*)$/.exec(value);
      if (match) fmtp.set(Number(match[1]), (match[2] ?? '').trim());
    }
  }
  const rtxFor = new Map<number, number>();
  for (const [pt, map] of rtpmap) {
    if (map.name !== 'rtx') continue;
    const apt = Number(parseParams(fmtp.get(pt) ?? '').apt);
    if (Number.isInteger(apt)) rtxFor.set(apt, pt);
  }
  const codecs: OfferedCodec[] = [];
  for (const format of formats) {
    if (!/^\d{1,3}$/.test(format)) continue;
    const payloadType = Number(format);
    const map = rtpmap.get(payloadType);
    if (!map || NON_MEDIA_CODECS.has(map.name)) continue;
    const line = fmtp.get(payloadType);
    codecs.push({
      payloadType,
      name: map.name,
      clockRate: map.clockRate,
      channels: map.channels,
      params: parseParams(line ?? ''),
      fmtp: line && line.length > 0 ? line : undefined,
      rtxPayloadType: rtxFor.get(payloadType),
    });
  }
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  return { index: section.index, kind: kind.toLowerCase(), mid, port, direction, codecs };
}

/** Every m-line of the offer, in order. Pure: it never throws on odd input, it just finds less. */
export function readOfferedMedia(sdp: string): OfferedMedia[] {
  const { session, sections } = splitSections(sdp);
  const sessionDirection = (session.find((a) => DIRECTIONS.has(a)) as OfferDirection | undefined) ?? 'sendrecv';
  return sections.map((s) => readSection(s, sessionDirection));
}
