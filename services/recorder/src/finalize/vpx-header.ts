import { BitReader } from '../bit-reader.js';
import type { FrameSize } from './h264-sps.js';

/** What a VP8 or VP9 frame's first bytes say: whether it is a keyframe and, for a keyframe, its size. */
export interface VpxFrameHeader {
  keyframe: boolean;
  /** a keyframe's coded size; undefined for other frames */
  size?: FrameSize;
}

/**
 * A VP8 frame's header (RFC 6386 9.1): the 3-byte frame tag, whose lowest bit is 0 for a keyframe; a
 * keyframe then has the start code 9d 01 2a and 14-bit width and height (little-endian, 2 bits of scaling
 * above them). Undefined when the bytes are not a VP8 frame.
 */
export function vp8FrameHeader(frame: Uint8Array): VpxFrameHeader | undefined {
  if (frame.length < 3) return undefined;
  if (((frame[0] ?? 0) & 1) === 1) return { keyframe: false };
  if (frame.length < 10 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  const width = (((frame[7] ?? 0) << 8) | (frame[6] ?? 0)) & 0x3fff;
  const height = (((frame[9] ?? 0) << 8) | (frame[8] ?? 0)) & 0x3fff;
  return width > 0 && height > 0 ? { keyframe: true, size: { width, height } } : undefined;
}

const VP9_SYNC_CODE = 0x498342;
const VP9_CS_RGB = 7;

/**
 * A VP9 frame's uncompressed header (VP9 bitstream spec 6.2): frame marker, profile, show_existing_frame (a
 * repeat of a decoded frame: not a keyframe), frame_type (0: keyframe); a keyframe then has the sync code,
 * the color config (its length depends on the profile and color space) and frame_width_minus_1 /
 * frame_height_minus_1 (16 bits each). A superframe starts with its first frame, so its first bytes are read.
 * Undefined when the bytes are not a VP9 frame.
 */
export function vp9FrameHeader(frame: Uint8Array): VpxFrameHeader | undefined {
  try {
    const r = new BitReader(frame);
    if (r.u(2) !== 2) return undefined;
    const low = r.u(1);
    const profile = (r.u(1) << 1) | low;
    if (profile === 3 && r.u(1) !== 0) return undefined;
    if (r.flag()) return { keyframe: false }; // show_existing_frame
    if (r.u(1) !== 0) return { keyframe: false }; // frame_type 1: a non-keyframe
    r.u(2); // show_frame, error_resilient_mode
    if (r.u(24) !== VP9_SYNC_CODE) return undefined;
    if (profile >= 2) r.u(1); // ten_or_twelve_bit
    const colorSpace = r.u(3);
    if (colorSpace !== VP9_CS_RGB) {
      r.u(1); // color_range
      if (profile === 1 || profile === 3) r.u(3); // subsampling_x, subsampling_y, reserved_zero
    } else if (profile === 1 || profile === 3) {
      r.u(1); // reserved_zero
    }
    const width = r.u(16) + 1;
    const height = r.u(16) + 1;
    return { keyframe: true, size: { width, height } };
  } catch {
    return undefined;
  }
}
