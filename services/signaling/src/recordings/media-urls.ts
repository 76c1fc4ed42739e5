import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed URLs of recording files. A `<video src>` or a download link cannot send a header,
 * and a long-lived token in a URL ends up in logs, histories and Referer headers; a signature of
 * (id, expiry) grants one file for a few minutes. Every signaling instance behind one name must share the
 * secret, or a URL signed by one is refused by the others.
 */
export class MediaUrlSigner {
  private readonly key: Buffer;

  constructor(
    secret: string | undefined,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** The path of the file with its expiry and signature, e.g. /api/recordings/rec_1/media?expires=…&sig=… */
  sign(recordingId: string): string {
    const expires = Math.floor((this.now() + this.ttlMs) / 1000);
    return `/api/recordings/${recordingId}/media?expires=${expires}&sig=${this.signature(recordingId, expires)}`;
  }

  /** Whether a signature from `sign` is genuine and not expired. */
  verify(recordingId: string, expires: string | undefined, sig: string | undefined): boolean {
    if (expires === undefined || sig === undefined || !/^\d{1,12}$/.test(expires)) return false;
    const at = Number(expires);
    if (at * 1000 < this.now()) return false;
    const expected = Buffer.from(this.signature(recordingId, at));
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private signature(recordingId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`media\n${recordingId}\n${expires}`).digest('base64url');
  }
}
