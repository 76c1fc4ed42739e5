import { buildRtpPacket } from './rtp-packet.js';

/**
 * GStreamer's own RTP payload (`rtpgstpay`/`rtpgstdepay`, encoding-name X-GST): any buffer, its caps and a
 * delta-unit flag, fragmented over RTP packets that keep the original RTP timestamp and SSRC. The recorder
 * hands AV1 temporal units to GStreamer this way, so rtpbin still pairs them with the publisher's RTCP
 * sender reports for A/V sync.
 *
 *   0                   1                   2                   3
 *  |C| CV  |D|0|0|0|     ETYPE     |  MBZ                          |
 *  |                          Frag_offset                          |
 *
 * C: the first bytes of the reassembled payload are the caps (7-bit-group length, string, NUL);
 * D: delta unit; the RTP marker ends a buffer.
 */

/** framerate 0/1 (variable): webmmux accepts AV1 only with a framerate field */
export const AV1_CAPS = 'video/x-av1, stream-format=(string)obu-stream, alignment=(string)tu, framerate=(fraction)0/1';
/** Fragments fit one UDP datagram on loopback; through a pipe (RFC 4571) the 16-bit length is the limit. */
const MAX_FRAGMENT = 60_000;

export interface XGstBuffer {
  payloadType: number;
  ssrc: number;
  timestamp: number;
  keyframe: boolean;
  /** include the caps (do it on keyframes: a receiver joining late needs them before anything else) */
  caps?: string;
  data: Buffer;
}

export class XGstPacketizer {
  private seq = Math.floor(Math.random() * 0x10000);

  packetize(buffer: XGstBuffer): Buffer[] {
    const body = buffer.caps ? Buffer.concat([capsField(buffer.caps), buffer.data]) : buffer.data;
    const packets: Buffer[] = [];
    for (let offset = 0; offset < body.length || offset === 0; offset += MAX_FRAGMENT) {
      const end = Math.min(body.length, offset + MAX_FRAGMENT);
      const header = Buffer.alloc(8);
      header[0] = (buffer.caps ? 0x80 : 0) | (buffer.keyframe ? 0 : 0x08);
      header.writeUInt32BE(offset, 4);
      packets.push(
        buildRtpPacket({
          payloadType: buffer.payloadType,
          sequenceNumber: this.seq,
          timestamp: buffer.timestamp,
          ssrc: buffer.ssrc,
          marker: end >= body.length,
          payload: Buffer.concat([header, body.subarray(offset, end)]),
        }),
      );
      this.seq = (this.seq + 1) & 0xffff;
      if (end >= body.length) break;
    }
    return packets;
  }
}

/** Caps as rtpgstdepay reads them: big-endian 7-bit-group length, the string, a NUL. */
function capsField(caps: string): Buffer {
  const text = Buffer.from(`${caps}\0`, 'utf8');
  const groups: number[] = [];
  let len = text.length;
  do {
    groups.unshift(len & 0x7f);
    len >>= 7;
  } while (len > 0);
  const prefix = groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g));
  return Buffer.concat([Buffer.from(prefix), text]);
}

/** RFC 4571 framing for a byte stream: a 16-bit length before each packet. */
export function frameRfc4571(packet: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(packet.length, 0);
  return Buffer.concat([length, packet]);
}
