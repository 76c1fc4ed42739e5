import { BitReader } from '../bit-reader.js';
import { OBU_SEQUENCE_HEADER, obuType, readLeb128 } from './av1-depacketizer.js';

/** The picture size an AV1 stream announces in its sequence header (AV1 spec 5.5.1). */
export interface Av1StreamSize {
  maxWidth: number;
  maxHeight: number;
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
  r.u(3); // seq_profile
  r.u(1); // still_picture
  const reducedStillPictureHeader = r.u(1);
  if (reducedStillPictureHeader) {
    r.u(5); // seq_level_idx[0]
  } else {
    let decoderModelInfoPresent = 0;
    let bufferDelayLength = 0;
    if (r.u(1)) {
      // timing_info
      r.u(32);
      r.u(32);
      if (r.u(1)) r.uvlc();
      decoderModelInfoPresent = r.u(1);
      if (decoderModelInfoPresent) {
        bufferDelayLength = r.u(5) + 1;
        r.u(32);
        r.u(5);
        r.u(5);
      }
    }
    const initialDisplayDelayPresent = r.u(1);
    const operatingPoints = r.u(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      r.u(12); // operating_point_idc
      const level = r.u(5);
      if (level > 7) r.u(1); // seq_tier
      if (decoderModelInfoPresent && r.u(1)) {
        r.u(bufferDelayLength);
        r.u(bufferDelayLength);
        r.u(1);
      }
      if (initialDisplayDelayPresent && r.u(1)) r.u(4);
    }
  }
  const widthBits = r.u(4) + 1;
  const heightBits = r.u(4) + 1;
  return { maxWidth: r.u(widthBits) + 1, maxHeight: r.u(heightBits) + 1 };
}
