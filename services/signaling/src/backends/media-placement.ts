import type { CreateSessionReply, MediaPong } from '@recstack/contracts';
import { LoadView, UnavailableError, errorCodeOf, type Clock, type Logger } from '@recstack/service-kit';
import type { MediaClient } from './media-client.js';

export interface MediaLoad {
  mediaId: string;
  /** share of the instance's capacity in use (1 = full) */
  load: number;
  /** what one more session adds to `load`, counted between two pongs */
  perSession: number;
}

/**
 * An instance's load from its pong: the share it computes itself (sessions, packets/s and CPU against its
 * limits), or sessions / capacity from instances that predate it. An instance that no longer accepts
 * sessions counts as full.
 */
export function mediaLoadOf(p: MediaPong): MediaLoad {
  const perSession = p.capacity > 0 ? 1 / p.capacity : 1;
  if (p.accepting === false || p.capacity === 0) return { mediaId: p.mediaId, load: Infinity, perSession };
  return { mediaId: p.mediaId, load: p.load ?? p.sessions / p.capacity, perSession };
}

/**
 * The order to ask instances in: those with room first, least loaded first (random among equals, so two
 * signaling instances with the same view do not pile onto one), then the full ones (their last pong may
 * already be out of date).
 */
export function placementOrder(loads: readonly MediaLoad[], random: () => number = Math.random): string[] {
  const keyed = loads.map((l) => ({ l, tie: random() }));
  keyed.sort((a, b) => a.l.load - b.l.load || a.tie - b.tie);
  const open = keyed.filter((k) => k.l.load < 1).map((k) => k.l.mediaId);
  const full = keyed.filter((k) => !(k.l.load < 1)).map((k) => k.l.mediaId);
  return [...open, ...full];
}

export interface MediaPlacementOptions {
  refreshMs: number;
  pingWaitMs: number;
  /** instances asked for one session before giving up with the last AT_CAPACITY */
  maxAttempts: number;
  clock?: Clock;
}

/**
 * Where each new WHIP session goes: the media instance with the most room, from the instances' pongs every
 * `refreshMs` (and signaling's own placements counted in between, so a burst spreads out), instead of
 * wherever the queue group happens to deliver it. An instance that answers AT_CAPACITY, or does not answer
 * on its own subject (gone, or older than that subject), is passed over for the next. Without a view (no
 * pong yet) the queue group decides, as before.
 */
export class MediaPlacement {
  private readonly view: LoadView<MediaLoad>;

  constructor(
    private readonly media: Pick<MediaClient, 'ping' | 'createSession' | 'createSessionOn'>,
    private readonly logger: Logger,
    private readonly options: MediaPlacementOptions,
  ) {
    this.view = new LoadView({
      refreshMs: options.refreshMs,
      poll: async () => (await media.ping(options.pingWaitMs)).map(mediaLoadOf),
      idOf: (l) => l.mediaId,
      onError: (err) => logger.warn({ err }, 'media load refresh failed'),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }

  start(): void {
    this.view.start();
  }

  close(): void {
    this.view.close();
  }

  /** Asks every media instance for its load; one refresh at a time. */
  refresh(): Promise<void> {
    return this.view.refresh();
  }

  /** The instances to ask, in order (empty: no fresh view). */
  candidates(): string[] {
    return placementOrder(this.view.fresh());
  }

  /** Creates the session on the instance with the most room, trying the next when one is full or gone. */
  async createSession(sessionId: string, offer: string): Promise<CreateSessionReply> {
    let refused: { error: unknown } | undefined;
    for (const mediaId of this.candidates().slice(0, this.options.maxAttempts)) {
      try {
        const reply = await this.media.createSessionOn(mediaId, sessionId, offer);
        this.placed(mediaId);
        return reply;
      } catch (err) {
        // only refusals that certainly created nothing are tried elsewhere (a timeout may have created it)
        if (errorCodeOf(err) === 'AT_CAPACITY' || errorCodeOf(err) === 'SHUTTING_DOWN') {
          this.full(mediaId);
          refused = { error: err };
          this.logger.info({ sessionId, mediaId, code: errorCodeOf(err) }, 'media instance refused the session, trying another');
          continue;
        }
        if (err instanceof UnavailableError && err.code === 'MEDIA_UNAVAILABLE') {
          this.view.forget(mediaId);
          continue;
        }
        throw err;
      }
    }
    if (refused) throw refused.error;
    return this.media.createSession(sessionId, offer);
  }

  private placed(mediaId: string): void {
    const load = this.view.get(mediaId);
    if (load) load.load += load.perSession;
  }

  private full(mediaId: string): void {
    const load = this.view.get(mediaId);
    if (load) load.load = Math.max(load.load, 1);
  }
}
