import { EventEmitter } from 'node:events';
import { isTerminal, type Recording } from '@recstack/contracts';
import type { CatalogChange, RecordingCatalog } from '@recstack/catalog';
import type { Logger } from '@recstack/service-kit';

export type FeedChange =
  | { type: 'put'; recording: Recording; previous: Recording | undefined; revision: number }
  | { type: 'delete'; id: string; previous: Recording | undefined; revision: number };

export interface CatalogFeedEvents {
  change: [FeedChange];
}

/**
 * The one watch signaling keeps on the catalog. It mirrors every recording in memory (for the active
 * recording of a session, gauges and waiting for a state) and hands each change, in the order the
 * bucket stored them, to its listeners (WebSocket clients, webhooks) together with the state before.
 */
export class CatalogFeed extends EventEmitter<CatalogFeedEvents> {
  private readonly mirror = new Map<string, Recording>();
  private stopWatch: (() => void) | undefined;

  private constructor(private readonly logger: Logger) {
    super();
    // listeners are WebSocket clients and waiters: many is normal
    this.setMaxListeners(0);
  }

  static async start(catalog: RecordingCatalog, logger: Logger): Promise<CatalogFeed> {
    const feed = new CatalogFeed(logger.child({ component: 'catalog-feed' }));
    feed.stopWatch = await catalog.watch((change) => feed.apply(change), { includeCurrent: true });
    return feed;
  }

  /** The recording of the session that is not finished yet, if any. */
  activeForSession(sessionId: string): Recording | undefined {
    for (const recording of this.mirror.values()) {
      if (recording.sessionId === sessionId && !isTerminal(recording.status)) return recording;
    }
    return undefined;
  }

  /** The recording as the watch last saw it. */
  get(id: string): Recording | undefined {
    return this.mirror.get(id);
  }

  /** Every recording the watch has seen, newest first (as the catalog lists them). */
  list(): Recording[] {
    return [...this.mirror.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  countByStatus(): Record<Recording['status'], number> {
    const counts = { starting: 0, recording: 0, stopping: 0, done: 0, failed: 0 };
    for (const recording of this.mirror.values()) counts[recording.status]++;
    return counts;
  }

  /**
   * Resolves with the recording once `done(recording)` holds, or with the last known state (possibly
   * undefined) when `timeoutMs` passes or `signal` aborts first.
   */
  waitFor(id: string, done: (recording: Recording | undefined) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<Recording | undefined> {
    const current = this.mirror.get(id);
    if (done(current) || signal?.aborted) return Promise.resolve(current);
    return new Promise((resolve) => {
      const onChange = (change: FeedChange) => {
        const recordingId = change.type === 'put' ? change.recording.id : change.id;
        if (recordingId !== id) return;
        const now = change.type === 'put' ? change.recording : undefined;
        if (!done(now)) return;
        finish(now);
      };
      const onAbort = () => finish(this.mirror.get(id));
      const timer = setTimeout(onAbort, timeoutMs);
      const finish = (value: Recording | undefined) => {
        clearTimeout(timer);
        this.off('change', onChange);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      };
      this.on('change', onChange);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.removeAllListeners();
  }

  private apply(change: CatalogChange): void {
    if (change.type === 'put') {
      const previous = this.mirror.get(change.recording.id);
      this.mirror.set(change.recording.id, change.recording);
      this.deliver({ type: 'put', recording: change.recording, previous, revision: change.revision });
    } else {
      const previous = this.mirror.get(change.id);
      this.mirror.delete(change.id);
      this.deliver({ type: 'delete', id: change.id, previous, revision: change.revision });
    }
  }

  private deliver(change: FeedChange): void {
    try {
      this.emit('change', change);
    } catch (err) {
      // one failing listener must not stop the feed for the others
      this.logger.error({ err }, 'catalog change listener failed');
    }
  }
}
