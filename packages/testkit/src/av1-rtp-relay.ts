import { createSocket, type Socket } from 'node:dgram';

/**
 * AV1 over RTP for tests. GStreamer 1.22 can encode AV1 but has no `rtpav1pay`, so an AV1 test publisher
 * sends its temporal units in GStreamer's own RTP payload (`rtpgstpay`, X-GST) to this relay, which
 * repacketizes them as AV1 RTP (AOMedia "RTP Payload Format for AV1") with the same SSRC and timestamps,
 * so the publisher's RTCP sender reports stay valid for the AV1 stream.
 */

interface Rtp {
  payloadType: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}

function parseRtp(buf: Buffer): Rtp | undefined {
  if (buf.length < 12 || (buf[0] as number) >> 6 !== 2) return undefined;
  const b0 = buf[0] as number;
  let offset = 12 + 4 * (b0 & 0x0f);
  if (b0 & 0x10) offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  const end = b0 & 0x20 ? buf.length - (buf[buf.length - 1] as number) : buf.length;
  if (offset > end) return undefined;
  return {
    payloadType: (buf[1] as number) & 0x7f,
    marker: ((buf[1] as number) & 0x80) !== 0,
    seq: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

function rtpPacket(p: Omit<Rtp, 'payload'>, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  h.writeUInt16BE(p.seq & 0xffff, 2);
  h.writeUInt32BE(p.timestamp >>> 0, 4);
  h.writeUInt32BE(p.ssrc >>> 0, 8);
  return Buffer.concat([h, payload]);
}

function leb128(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    bytes.push(b);
  } while (v > 0);
  return Buffer.from(bytes);
}

function readLeb128(buf: Buffer, offset: number): { value: number; bytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < 8 && offset + i < buf.length; i++) {
    const b = buf[offset + i] as number;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (!(b & 0x80)) return { value, bytes: i + 1 };
  }
  return undefined;
}

/** Reassembles X-GST buffers (rtpgstpay): skips caps and events, keeps the data and the delta flag. */
export class XGstDepacketizer {
  private parts: Buffer[] = [];

  push(packet: Rtp): { data: Buffer; keyframe: boolean; timestamp: number; ssrc: number } | undefined {
    if (packet.payload.length <= 8) return undefined;
    const p0 = packet.payload[0] as number;
    const eventType = packet.payload[1] as number;
    if (packet.payload.readUInt32BE(4) === 0) this.parts = [];
    this.parts.push(packet.payload.subarray(8));
    if (!packet.marker) return undefined;
    let body = Buffer.concat(this.parts);
    this.parts = [];
    if (p0 & 0x80) {
      let len = 0;
      let i = 0;
      let b: number;
      do {
        b = body[i++] as number;
        len = (len << 7) | (b & 0x7f);
      } while (b & 0x80 && i < body.length);
      body = body.subarray(i + len);
    }
    if (eventType !== 0 || body.length === 0) return undefined;
    return { data: body, keyframe: (p0 & 0x08) === 0, timestamp: packet.timestamp, ssrc: packet.ssrc };
  }
}

/** OBUs of a low-overhead bitstream unit, as they go into RTP: without size fields or temporal delimiters. */
export function obusForRtp(unit: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < unit.length) {
    const h0 = unit[offset] as number;
    const type = (h0 >> 3) & 0x0f;
    const headerLen = h0 & 0x04 ? 2 : 1;
    let payloadStart = offset + headerLen;
    let payloadEnd = unit.length;
    if (h0 & 0x02) {
      const size = readLeb128(unit, payloadStart);
      if (!size) break;
      payloadStart += size.bytes;
      payloadEnd = payloadStart + size.value;
    }
    if (type !== 2 && type !== 15) {
      const header = Buffer.from(unit.subarray(offset, offset + headerLen));
      header[0] = h0 & ~0x02;
      out.push(Buffer.concat([header, unit.subarray(payloadStart, payloadEnd)]));
    }
    offset = payloadEnd;
  }
  return out;
}

/** AV1 RTP packetizer: every element with a length (W=0), fragments flagged with Z/Y, N on a keyframe's first packet. */
export class Av1Packetizer {
  private seq = Math.floor(Math.random() * 0x10000);

  constructor(
    private readonly payloadType: number,
    private readonly maxPayload = 1200,
  ) {}

  packetize(unit: { data: Buffer; keyframe: boolean; timestamp: number; ssrc: number }): Buffer[] {
    const packets: Array<{ header: number; body: Buffer[] }> = [];
    let current = { header: 0, body: [] as Buffer[], size: 1 };
    const flush = (continues: boolean) => {
      if (current.body.length === 0) return;
      if (continues) current.header |= 0x40;
      packets.push(current);
      current = { header: continues ? 0x80 : 0, body: [], size: 1 };
    };
    for (const obu of obusForRtp(unit.data)) {
      let rest = obu;
      while (rest.length > 0) {
        const room = this.maxPayload - current.size - 3;
        if (room < 16) {
          flush(false);
          continue;
        }
        const piece = rest.subarray(0, room);
        current.body.push(leb128(piece.length), piece);
        current.size += leb128(piece.length).length + piece.length;
        rest = rest.subarray(piece.length);
        if (rest.length > 0) flush(true);
      }
    }
    flush(false);
    return packets.map((p, i) => {
      let header = p.header;
      if (i === 0 && unit.keyframe) header |= 0x08;
      return rtpPacket(
        { payloadType: this.payloadType, seq: this.seq++ & 0xffff, timestamp: unit.timestamp, ssrc: unit.ssrc, marker: i === packets.length - 1 },
        Buffer.concat([Buffer.from([header]), ...p.body]),
      );
    });
  }
}

export interface Av1Relay {
  /** where the GStreamer publisher sends its X-GST RTP */
  port: number;
  close(): Promise<void>;
}

/** Receives X-GST RTP on a free loopback port and sends it on as AV1 RTP to host:port. */
export async function startAv1Relay(target: { host: string; port: number; payloadType: number }): Promise<Av1Relay> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const depay = new XGstDepacketizer();
  const pay = new Av1Packetizer(target.payloadType);
  socket.on('message', (msg) => {
    const rtp = parseRtp(msg);
    if (!rtp) return;
    const unit = depay.push(rtp);
    if (!unit) return;
    for (const packet of pay.packetize(unit)) socket.send(packet, target.port, target.host);
  });
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
