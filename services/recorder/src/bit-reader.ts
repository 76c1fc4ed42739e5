/**
 * Reads a byte string bit by bit, most significant bit first; past the end it throws (a header cut short).
 * Serves the H264 SPS, VP8/VP9 and AV1 sequence header readers.
 */
export class BitReader {
  private bit = 0;

  constructor(private readonly bytes: Uint8Array) {}

  u(n: number): number {
    let value = 0;
    for (let k = 0; k < n; k++) {
      const byte = this.bytes[this.bit >> 3];
      if (byte === undefined) throw new RangeError('header cut short');
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return value;
  }

  flag(): boolean {
    return this.u(1) === 1;
  }

  /** Exp-Golomb, unsigned (H264 ue(v)). */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new RangeError('Exp-Golomb code too long');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** AV1 uvlc(): like ue(v), but 32 or more leading zeros saturate to 2^32 - 1 (AV1 spec 4.10.3). */
  uvlc(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros >= 32) return 2 ** 32 - 1;
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** Exp-Golomb, signed (H264 se(v)). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}
