import type { KV, NatsConnection } from 'nats';
import { BUCKETS, PublisherSessionSchema, type PublisherSession } from '@recstack/contracts';
import { decodeMessage, type Logger } from '@recstack/service-kit';

/**
 * Reads the publisher sessions that media keeps in the `sessions_v1` bucket. Media is the only writer
 * and creates the bucket with its own settings, so signaling binds without creating it; until media
 * has created it, every session is simply unknown.
 */
export class SessionDirectory {
  private kv: KV | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {}

  async get(sessionId: string): Promise<PublisherSession | undefined> {
    let entry;
    try {
      entry = await (await this.bucket()).get(sessionId);
    } catch (err) {
      if (isMissingBucket(err)) return undefined;
      throw err;
    }
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    try {
      return decodeMessage(PublisherSessionSchema, entry.value);
    } catch (err) {
      // a bad entry is media's bug; to the client the session cannot be used, and signaling carries on
      this.logger.error({ err, sessionId }, 'session entry is invalid');
      return undefined;
    }
  }

  private async bucket(): Promise<KV> {
    this.kv ??= await this.nc.jetstream().views.kv(BUCKETS.sessions, { bindOnly: true });
    return this.kv;
  }
}

function isMissingBucket(err: unknown): boolean {
  const message = (err as { message?: unknown }).message;
  const text = typeof message === 'string' ? message : '';
  return /stream not found|no responders/i.test(text) || (err as { code?: string }).code === '503';
}
