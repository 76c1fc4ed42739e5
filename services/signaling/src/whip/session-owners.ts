import type { KV, NatsConnection } from 'nats';
import { BUCKETS } from '@recstack/contracts';
import { retryJetStreamWrite } from '@recstack/service-kit';
import type { Principal } from '../http/auth.js';
import { ForbiddenError } from '../errors.js';

const RECORD_DEADLINE_MS = 8000;

/**
 * Which principal created each publisher session, so a publish token can control its own sessions'
 * recordings and no one else's. Kept in a bucket so every signaling instance sees it; entries of sessions
 * that ended without a DELETE expire with the bucket's max age.
 */
export class SessionOwners {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, options: { replicas: number; maxAgeMs?: number }): Promise<SessionOwners> {
    const kv = await nc.jetstream().views.kv(BUCKETS.sessionOwners, { history: 1, replicas: options.replicas, ttl: options.maxAgeMs ?? 7 * 24 * 3600_000 });
    return new SessionOwners(kv);
  }

  /** retried while the bucket takes no writes (a NATS cluster electing its stream leader), inside the WHIP answer's time */
  async record(sessionId: string, owner: Principal): Promise<void> {
    await retryJetStreamWrite(() => this.kv.put(sessionId, owner.key), { deadlineMs: RECORD_DEADLINE_MS });
  }

  async forget(sessionId: string): Promise<void> {
    await this.kv.delete(sessionId).catch(() => undefined);
  }

  /** Admin may act on any session; a publish token only on those it created. */
  async assertMayControl(principal: Principal, sessionId: string): Promise<void> {
    if (principal.role === 'admin') return;
    const entry = await this.kv.get(sessionId);
    const owner = entry && entry.operation === 'PUT' ? entry.string() : undefined;
    if (owner !== principal.key) throw new ForbiddenError();
  }
}
