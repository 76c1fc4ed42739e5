import type { RtpPacket } from './rtp-packet.js';

/**
 * AV1 RTP depacketizer (AOMedia "RTP Payload Format for AV1", v1.0): RTP packets in arrival order in,
 * temporal units out, as a low-overhead OBU stream (every OBU with its size field, no temporal delimiters,
 * tile lists or padding) — the form MP4 and Matroska store and `av1parse` reads as `obu-stream`/`tu`.
 *
 * Aggregation header, the first payload byte:  Z | Y | W W | N | - - -
 *   Z: the first OBU element continues an OBU fragment of the previous packet
 *   Y: the last OBU element continues in the next packet
 *   W: number of OBU elements (0: every element has a LEB128 length; 1-3: all but the last have one)
 *   N: the packet starts a new coded video sequence (a keyframe with its sequence header)
 *
 * A lost packet spoils its temporal unit and every one after it until the next keyframe, which is dropped
 * rather than written as undecodable video; nothing is emitted before the first keyframe.
 */

export interface TemporalUnit {
  /** RTP timestamp (90 kHz) of the unit's packets */
  timestamp: number;
  ssrc: number;
  keyframe: boolean;
  data: Buffer;
}

export const OBU_SEQUENCE_HEADER = 1;
export const OBU_TEMPORAL_DELIMITER = 2;
const OBU_TILE_LIST = 8;
const OBU_PADDING = 15;

export class Av1Depacketizer {
  private timestamp: number | undefined;
  private ssrc = 0;
  private obus: Buffer[] = [];
  private fragment: Buffer[] | undefined;
  private startsSequence = false;
  private broken = false;
  private expectedSeq: number | undefined;
  private waitingForKeyframe = true;
  /** temporal units dropped (loss, malformed, before the first keyframe) */
  dropped = 0;

  /** Feeds one packet; returns the temporal unit it completes, if any. */
  push(packet: RtpPacket): TemporalUnit[] {
    const out: TemporalUnit[] = [];
    if (this.timestamp !== undefined && packet.timestamp !== this.timestamp) {
      // the previous unit's last packet (marker) never came
      this.broken = true;
      this.finish(out);
    }
    if (this.expectedSeq !== undefined && packet.sequenceNumber !== this.expectedSeq) {
      // a gap (or a reordering, which loopback does not produce and is not repaired): this unit is incomplete
      this.broken = true;
      this.waitingForKeyframe = true;
    }
    this.expectedSeq = (packet.sequenceNumber + 1) & 0xffff;
    if (this.timestamp === undefined) {
      this.timestamp = packet.timestamp;
      this.ssrc = packet.ssrc;
    }
    this.readPayload(packet.payload);
    if (packet.marker) this.finish(out);
    return out;
  }

  private readPayload(payload: Buffer): void {
    if (payload.length < 1) {
      this.broken = true;
      return;
    }
    const header = payload[0] as number;
    const z = (header & 0x80) !== 0;
    const y = (header & 0x40) !== 0;
    const w = (header >> 4) & 0x03;
    const n = (header & 0x08) !== 0;
    if (this.obus.length === 0 && this.fragment === undefined && n) this.startsSequence = true;

    const elements: Buffer[] = [];
    let offset = 1;
    while (offset < payload.length) {
      const last = w !== 0 && elements.length === w - 1;
      if (last) {
        elements.push(payload.subarray(offset));
        break;
      }
      const len = readLeb128(payload, offset);
      if (!len || offset + len.bytes + len.value > payload.length) {
        this.broken = true;
        return;
      }
      offset += len.bytes;
      elements.push(payload.subarray(offset, offset + len.value));
      offset += len.value;
    }

    elements.forEach((element, i) => {
      const continues = i === 0 && z;
      const incomplete = i === elements.length - 1 && y;
      if (continues) {
        if (!this.fragment) {
          this.broken = true; // its start was lost
          return;
        }
        this.fragment.push(element);
      } else {
        if (this.fragment) this.broken = true; // the fragment's end never came
        this.fragment = [element];
      }
      if (!incomplete) {
        this.addObu(Buffer.concat(this.fragment));
        this.fragment = undefined;
      }
    });
  }

  private addObu(obu: Buffer): void {
    const normalized = normalizeObu(obu);
    if (normalized === undefined) {
      this.broken = true;
      return;
    }
    if (normalized === null) return;
    if (obuType(normalized) === OBU_SEQUENCE_HEADER) this.startsSequence = true;
    this.obus.push(normalized);
  }

  private finish(out: TemporalUnit[]): void {
    const usable = !this.broken && this.fragment === undefined && this.obus.length > 0;
    const unit: TemporalUnit | undefined = usable
      ? { timestamp: this.timestamp ?? 0, ssrc: this.ssrc, keyframe: this.startsSequence, data: Buffer.concat(this.obus) }
      : undefined;
    this.timestamp = undefined;
    this.obus = [];
    this.fragment = undefined;
    this.startsSequence = false;
    this.broken = false;
    if (!unit) {
      this.dropped++;
      this.waitingForKeyframe = true;
      return;
    }
    if (this.waitingForKeyframe && !unit.keyframe) {
      this.dropped++;
      return;
    }
    this.waitingForKeyframe = false;
    out.push(unit);
  }
}

export function obuType(obu: Buffer): number {
  return ((obu[0] as number) >> 3) & 0x0f;
}

/**
 * One OBU as carried in RTP (size field usually absent) → the same OBU with its size field. Returns null
 * for OBUs a stored stream must not hold (temporal delimiter, tile list, padding), undefined if malformed.
 */
export function normalizeObu(obu: Buffer): Buffer | null | undefined {
  if (obu.length < 1) return undefined;
  const h0 = obu[0] as number;
  if (h0 & 0x80) return undefined; // forbidden bit
  const type = (h0 >> 3) & 0x0f;
  if (type === OBU_TEMPORAL_DELIMITER || type === OBU_TILE_LIST || type === OBU_PADDING) return null;
  const headerLen = h0 & 0x04 ? 2 : 1;
  if (obu.length < headerLen) return undefined;
  let payload: Buffer;
  if (h0 & 0x02) {
    const size = readLeb128(obu, headerLen);
    if (!size || headerLen + size.bytes + size.value > obu.length) return undefined;
    payload = obu.subarray(headerLen + size.bytes, headerLen + size.bytes + size.value);
  } else {
    payload = obu.subarray(headerLen);
  }
  const header = Buffer.from(obu.subarray(0, headerLen));
  header[0] = h0 | 0x02;
  return Buffer.concat([header, writeLeb128(payload.length), payload]);
}

export function readLeb128(buf: Buffer, offset: number): { value: number; bytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (offset + i >= buf.length) return undefined;
    const byte = buf[offset + i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) return { value, bytes: i + 1 };
  }
  return undefined;
}

export function writeLeb128(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0);
  return Buffer.from(bytes);
}
