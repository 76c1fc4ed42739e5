import { BitReader } from '../bit-reader.js';

/** The picture size an H264 sequence parameter set declares, as decoders output it (after frame cropping). */
export interface FrameSize {
  width: number;
  height: number;
}

export const NAL_IDR = 5;
export const NAL_SPS = 7;
export const NAL_PPS = 8;

/** Profiles whose SPS carries chroma format, bit depths and scaling matrices (H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The NAL unit's payload without emulation prevention bytes (00 00 03 → 00 00). */
export function unescapeNal(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

/**
 * The frame size of an SPS NAL unit (header byte included): macroblocks, field coding (frame_mbs_only) and
 * the cropping window in the units the chroma format sets. Undefined when it is not an SPS or cut short.
 */
export function spsFrameSize(nal: Uint8Array): FrameSize | undefined {
  if (((nal[0] ?? 0) & 0x1f) !== NAL_SPS) return undefined;
  try {
    return parseSps(new BitReader(unescapeNal(nal.subarray(1))));
  } catch {
    return undefined;
  }
}

function parseSps(r: BitReader): FrameSize | undefined {
  const profile = r.u(8);
  r.u(16); // constraint flags, reserved bits, level_idc
  r.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  let separateColourPlanes = false;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.ue();
    if (chromaFormat === 3) separateColourPlanes = r.flag();
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) skipScalingLists(r, chromaFormat === 3 ? 12 : 8);
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.u(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.u(1); // mb_adaptive_frame_field_flag
  r.u(1); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  // ChromaArrayType 0 (monochrome or separate planes): cropping in luma samples; else in chroma samples
  const chromaArrayType = separateColourPlanes ? 0 : chromaFormat;
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeight = chromaArrayType === 1 ? 2 : 1;
  const fieldFactor = frameMbsOnly ? 1 : 2;
  const cropX = chromaArrayType === 0 ? 1 : subWidth;
  const cropY = (chromaArrayType === 0 ? 1 : subHeight) * fieldFactor;
  const width = widthMbs * 16 - cropX * (crop.left + crop.right);
  const height = heightMapUnits * 16 * fieldFactor - cropY * (crop.top + crop.bottom);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** scaling_list() of H.264 7.3.2.1.1.1: read to get past, the values do not matter here. */
function skipScalingLists(r: BitReader, lists: number): void {
  for (let i = 0; i < lists; i++) {
    if (!r.flag()) continue;
    const size = i < 6 ? 16 : 64;
    let last = 8;
    let next = 8;
    for (let j = 0; j < size; j++) {
      if (next !== 0) next = (last + r.se() + 256) % 256;
      last = next === 0 ? last : next;
    }
  }
}

/** The SPS and PPS NAL units of an `avcC` box's content (AVCDecoderConfigurationRecord), and its NAL length size. */
export function parseAvcC(record: Uint8Array): { lengthSize: number; sps: Uint8Array[]; pps: Uint8Array[] } | undefined {
  if (record.length < 7 || record[0] !== 1) return undefined;
  const lengthSize = ((record[4] ?? 0) & 0x03) + 1;
  const sps: Uint8Array[] = [];
  const pps: Uint8Array[] = [];
  let at = 5;
  const take = (into: Uint8Array[], count: number): boolean => {
    for (let i = 0; i < count; i++) {
      if (at + 2 > record.length) return false;
      const length = ((record[at] ?? 0) << 8) | (record[at + 1] ?? 0);
      if (at + 2 + length > record.length) return false;
      into.push(record.subarray(at + 2, at + 2 + length));
      at += 2 + length;
    }
    return true;
  };
  if (!take(sps, (record[at++] ?? 0) & 0x1f)) return undefined;
  if (at >= record.length || !take(pps, record[at++] ?? 0)) return undefined;
  return { lengthSize, sps, pps };
}
