import { OBU_SEQUENCE_HEADER, obuType, readLeb128 } from './av1-depacketizer.js';

/** The picture size an AV1 stream announces in its sequence header (AV1 spec 5.5.1). */
export interface Av1StreamSize {
  maxWidth: number;
  maxHeight: number;
}

class BitReader {
  private bit = 0;
  constructor(private readonly buf: Buffer) {}

  f(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.bit >> 3];
      if (byte === undefined) throw new RangeError('sequence header cut short');
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return value;
  }

  uvlc(): number {
    let leadingZeros = 0;
    while (this.f(1) === 0) {
      leadingZeros++;
      if (leadingZeros >= 32) return 2 ** 32 - 1;
    }
    return leadingZeros === 0 ? 0 : this.f(leadingZeros) + 2 ** leadingZeros - 1;
  }
}

/**
 * The maximum frame size from the first sequence header OBU in a temporal unit (OBUs with size fields), or
 * undefined when there is none or it cannot be read.
 */
export function av1StreamSize(unit: Buffer): Av1StreamSize | undefined {
  let offset = 0;
  while (offset < unit.length) {
    const h0 = unit[offset] as number;
    const headerLen = h0 & 0x04 ? 2 : 1;
    if (!(h0 & 0x02)) return undefined; // normalized units always carry sizes
    const size = readLeb128(unit, offset + headerLen);
    if (!size) return undefined;
    const start = offset + headerLen + size.bytes;
    if (obuType(unit.subarray(offset)) === OBU_SEQUENCE_HEADER) {
      try {
        return parseSequenceHeader(unit.subarray(start, start + size.value));
      } catch {
        return undefined;
      }
    }
    offset = start + size.value;
  }
  return undefined;
}

function parseSequenceHeader(payload: Buffer): Av1StreamSize {
  const r = new BitReader(payload);
  r.f(3); // seq_profile
  r.f(1); // still_picture
  const reducedStillPictureHeader = r.f(1);
  if (reducedStillPictureHeader) {
    r.f(5); // seq_level_idx[0]
  } else {
    let decoderModelInfoPresent = 0;
    let bufferDelayLength = 0;
    if (r.f(1)) {
      // timing_info
      r.f(32);
      r.f(32);
      if (r.f(1)) r.uvlc();
      decoderModelInfoPresent = r.f(1);
      if (decoderModelInfoPresent) {
        bufferDelayLength = r.f(5) + 1;
        r.f(32);
        r.f(5);
        r.f(5);
      }
    }
    const initialDisplayDelayPresent = r.f(1);
    const operatingPoints = r.f(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      r.f(12); // operating_point_idc
      const level = r.f(5);
      if (level > 7) r.f(1); // seq_tier
      if (decoderModelInfoPresent && r.f(1)) {
        r.f(bufferDelayLength);
        r.f(bufferDelayLength);
        r.f(1);
      }
      if (initialDisplayDelayPresent && r.f(1)) r.f(4);
    }
  }
  const widthBits = r.f(4) + 1;
  const heightBits = r.f(4) + 1;
  return { maxWidth: r.f(widthBits) + 1, maxHeight: r.f(heightBits) + 1 };
}
