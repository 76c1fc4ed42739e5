import type { FileHandle } from 'node:fs/promises';
import { NAL_IDR, NAL_PPS, NAL_SPS, spsFrameSize, type FrameSize } from './h264-sps.js';
import { vp8FrameHeader, vp9FrameHeader } from './vpx-header.js';

/**
 * What a keyframe's own bytes say: whether it really is one (H264: an IDR picture with a sequence and a
 * picture parameter set available, in the sample or in avcC; VP8/VP9: the keyframe bit of the frame header)
 * and the frame size it starts. Undefined when the bytes cannot be parsed as the codec.
 */
export interface KeyframeHeader {
  keyframe: boolean;
  size: FrameSize | undefined;
}

/** How a track's samples are parsed; H264 remembers the last parameter sets seen, as a decoder does. */
export interface SampleParser {
  /** how many bytes of a sample's start usually hold what is read (more are read when they do not) */
  readonly headBytes: number;
  parse(sample: SampleBytes): Promise<KeyframeHeader | undefined>;
}

/** A sample's bytes: its first `headBytes` read at once, anything further read when asked for. */
export class SampleBytes {
  constructor(
    private readonly file: FileHandle,
    private readonly offset: number,
    readonly size: number,
    private readonly head: Buffer,
  ) {}

  async at(position: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, position + length);
    if (end <= this.head.length) return this.head.subarray(position, end);
    const bytes = Buffer.alloc(Math.max(0, end - position));
    const { bytesRead } = await this.file.read(bytes, 0, bytes.length, this.offset + position);
    return bytes.subarray(0, bytesRead);
  }
}

/** An SPS or PPS beyond this is not one an encoder wrote. */
const MAX_PARAMETER_SET_BYTES = 64 * 1024;

/**
 * H264 samples (avc1/avc3): NAL units each after a `lengthSize`-byte length. The NAL units before the first
 * picture slice are walked (access unit delimiter, SPS, PPS, SEI); the slice's type says IDR (5) or not. The
 * frame size comes from the sample's own SPS (avc3 repeats them in-band, and a resolution change brings a
 * new one), else from the last one seen, which starts as avcC's.
 */
export function h264Parser(lengthSize: number, avcSps: Uint8Array | undefined, avcHasPps: boolean): SampleParser {
  let lastSize = avcSps ? spsFrameSize(avcSps) : undefined;
  let hasSps = avcSps !== undefined;
  let hasPps = avcHasPps;
  return {
    headBytes: 4096,
    async parse(sample) {
      for (let at = 0; at + lengthSize < sample.size;) {
        const head = await sample.at(at, lengthSize + 1);
        if (head.length < lengthSize + 1) return undefined;
        let length = 0;
        for (let k = 0; k < lengthSize; k++) length = length * 256 + (head[k] ?? 0);
        const type = (head[lengthSize] ?? 0) & 0x1f;
        const start = at + lengthSize;
        if (length === 0 || start + length > sample.size) return undefined;
        if (type === NAL_SPS) {
          const size = length <= MAX_PARAMETER_SET_BYTES ? spsFrameSize(await sample.at(start, length)) : undefined;
          if (!size) return undefined;
          lastSize = size;
          hasSps = true;
        } else if (type === NAL_PPS) {
          hasPps = true;
        } else if (type >= 1 && type <= NAL_IDR) {
          const keyframe = type === NAL_IDR && hasSps && hasPps;
          return { keyframe, size: keyframe ? lastSize : undefined };
        }
        at = start + length;
      }
      return undefined;
    },
  };
}

export const vp8Parser: SampleParser = {
  headBytes: 16,
  async parse(sample) {
    const header = vp8FrameHeader(await sample.at(0, 16));
    return header && { keyframe: header.keyframe, size: header.size };
  },
};

export const vp9Parser: SampleParser = {
  headBytes: 16,
  async parse(sample) {
    const header = vp9FrameHeader(await sample.at(0, 16));
    return header && { keyframe: header.keyframe, size: header.size };
  },
};

/** Samples read at once: bounds the memory (and the reads in flight) for a long file's thousands of keyframes. */
const BATCH = 64;

/**
 * Parses the samples at `offsets`/`sizes` (in decode order) with `parser`, in batches read concurrently and
 * parsed in order (H264's parameter sets carry over from one keyframe to the next).
 */
export async function parseSamples(
  file: FileHandle,
  parser: SampleParser,
  samples: ReadonlyArray<{ offset: number; size: number }>,
): Promise<Array<KeyframeHeader | undefined>> {
  const out: Array<KeyframeHeader | undefined> = [];
  for (let from = 0; from < samples.length; from += BATCH) {
    const batch = samples.slice(from, from + BATCH);
    const heads = await Promise.all(
      batch.map(async ({ offset, size }) => {
        const head = Buffer.alloc(Math.min(size, parser.headBytes));
        const { bytesRead } = await file.read(head, 0, head.length, offset);
        return new SampleBytes(file, offset, size, head.subarray(0, bytesRead));
      }),
    );
    for (const sample of heads) out.push(await parser.parse(sample));
  }
  return out;
}
