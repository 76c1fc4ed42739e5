import { TooManySessionsError } from '../errors.js';

/**
 * Fair share of publisher sessions: one client (its token, or its address without tokens) holds at most
 * `limit` at once on this signaling instance. A place is reserved before media is asked, so concurrent
 * offers cannot overshoot, and given back when the create fails or the session ends.
 */
export class ClientSessionQuota {
  private readonly held = new Map<string, Set<string>>();
  private readonly owners = new Map<string, string>();
  private reserved = new Map<string, number>();

  /**
   * @param exists whether a session is still held by media: a media instance that died sends no `closed`
   *   event, and its sessions' entries expire; asked only when a client is at its limit
   */
  constructor(
    private readonly limit: number,
    private readonly exists: (sessionId: string) => Promise<boolean> = async () => true,
  ) {}

  /** Runs `create` on a reserved place; its session id is then held until `release`. */
  async hold<T extends { sessionId: string }>(client: string, create: () => Promise<T>): Promise<T> {
    if (this.count(client) >= this.limit) await this.forgetVanished(client);
    if (this.count(client) >= this.limit) throw new TooManySessionsError(this.limit);
    this.reserved.set(client, (this.reserved.get(client) ?? 0) + 1);
    try {
      const result = await create();
      const sessions = this.held.get(client) ?? new Set<string>();
      sessions.add(result.sessionId);
      this.held.set(client, sessions);
      this.owners.set(result.sessionId, client);
      return result;
    } finally {
      const left = (this.reserved.get(client) ?? 1) - 1;
      if (left > 0) this.reserved.set(client, left);
      else this.reserved.delete(client);
    }
  }

  /** The session ended (DELETE, or media closed it): its place is free again. Idempotent. */
  release(sessionId: string): void {
    const client = this.owners.get(sessionId);
    if (client === undefined) return;
    this.owners.delete(sessionId);
    const sessions = this.held.get(client);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) this.held.delete(client);
  }

  private async forgetVanished(client: string): Promise<void> {
    const sessions = [...(this.held.get(client) ?? [])];
    const alive = await Promise.all(sessions.map((id) => this.exists(id).catch(() => true)));
    sessions.forEach((id, i) => {
      if (!alive[i]) this.release(id);
    });
  }

  count(client: string): number {
    return (this.held.get(client)?.size ?? 0) + (this.reserved.get(client) ?? 0);
  }
}
