import type { KV, NatsConnection } from 'nats';
import { BUCKETS, PublisherSessionSchema, type PublisherSession } from '@recstack/contracts';
import { ensureReplicas } from '@recstack/catalog';
import { encodeJson, retryJetStreamWrite, type Logger } from '@recstack/service-kit';

export interface SessionStoreOptions {
  /** entries not refreshed for this long expire (their media instance died without deleting them) */
  ttlMs: number;
  replicas?: number;
}

/** inside signaling's wait for the session's creation (NATS_REQUEST_TIMEOUT_SECONDS, 10 s), with room for the answer */
const PUT_DEADLINE_MS = 8000;

/**
 * The `sessions_v1` bucket: one entry per publisher session, written only by the media instance that
 * holds the session. Entries are refreshed periodically and expire with the bucket's TTL, so a media
 * instance that crashes leaves no session behind for long.
 */
export class SessionStore {
  private refreshTimer: NodeJS.Timeout | undefined;
  /** revision of each entry we wrote; absent once the session is removed */
  private readonly revisions = new Map<string, number>();

  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  static async open(nc: NatsConnection, options: SessionStoreOptions, logger: Logger): Promise<SessionStore> {
    const replicas = options.replicas ?? 1;
    const kv = await nc.jetstream().views.kv(BUCKETS.sessions, { history: 1, ttl: options.ttlMs, replicas });
    const log = logger.child({ component: 'session-store' });
    // an existing bucket is bound as it is: raise its replicas when the deployment asks for more (NATS_KV_REPLICAS)
    if (replicas > 1) await ensureReplicas(nc, `KV_${BUCKETS.sessions}`, replicas, log);
    return new SessionStore(kv, log);
  }

  /**
   * Writes the entry, trying again until PUT_DEADLINE_MS while the bucket takes no writes (on a NATS cluster
   * that lost the server leading its stream, until another is elected). A put is idempotent, so a retry after
   * a write that was stored but not acknowledged does no harm.
   */
  async put(session: PublisherSession): Promise<void> {
    const data = encodeJson(PublisherSessionSchema.parse(session));
    const revision = await retryJetStreamWrite(() => this.kv.put(session.sessionId, data), {
      deadlineMs: PUT_DEADLINE_MS,
      onRetry: (err, attempt) => this.logger.warn({ err, sessionId: session.sessionId, attempt }, 'session entry not written, retrying'),
    });
    this.revisions.set(session.sessionId, revision);
  }

  async remove(sessionId: string): Promise<void> {
    this.revisions.delete(sessionId);
    await this.kv.delete(sessionId);
  }

  /** Re-puts the given sessions every `everyMs`, so their entries outlive the bucket's TTL while they live. */
  startRefreshing(current: () => PublisherSession[], everyMs: number): void {
    this.stopRefreshing();
    this.refreshTimer = setInterval(() => {
      for (const session of current()) {
        this.refresh(session).catch((err: unknown) => this.logger.warn({ err, sessionId: session.sessionId }, 'session entry refresh failed'));
      }
    }, everyMs);
    this.refreshTimer.unref();
  }

  /**
   * Compare-and-set on our last revision, so a refresh racing with remove() cannot bring a deleted entry
   * back; an entry that expired meanwhile (NATS was away longer than the TTL) is written anew.
   */
  private async refresh(session: PublisherSession): Promise<void> {
    const revision = this.revisions.get(session.sessionId);
    if (revision === undefined) return;
    const id = session.sessionId;
    const keep = (next: number) => {
      if (this.revisions.has(id)) this.revisions.set(id, next);
    };
    try {
      keep(await this.kv.update(id, encodeJson(session), revision));
    } catch {
      if (this.revisions.has(id)) keep(await this.kv.put(id, encodeJson(session)));
    }
  }

  stopRefreshing(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }
}
