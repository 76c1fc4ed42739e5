import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection, Subscription } from 'nats';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SessionEventSchema, subjects } from '@recstack/contracts';
import { subscribeEvents, type Logger } from '@recstack/service-kit';
import { authEnabled, bearerToken, roleOfToken, type AuthPolicy, type Role } from '../http/auth.js';
import type { RateLimiter } from '../http/rate-limit.js';
import type { MediaUrlSigner } from '../recordings/media-urls.js';
import { recordingView } from '../recordings/recording-view.js';
import type { SignalingMetrics } from '../metrics.js';
import type { CatalogFeed, FeedChange } from '../recordings/catalog-feed.js';
import { WS_CLOSE, WsClientMessageSchema, wsText, type WsServerMessage } from './ws-messages.js';

export interface LiveEventsOptions {
  feed: CatalogFeed;
  nc: NatsConnection;
  logger: Logger;
  metrics: SignalingMetrics;
  auth: AuthPolicy;
  /** signs the mediaUrl of each recording sent */
  signer: MediaUrlSigner;
  /** authenticated clients */
  maxClients: number;
  /** clients that have not sent their token yet: their own budget, overall and per address, so they never take an authenticated client's place */
  maxUnauthenticated?: number;
  maxUnauthenticatedPerClient?: number;
  /** a client that has not sent its token this long after connecting is closed */
  authTimeoutMs?: number;
  /** the client's address (trusted proxy hops applied) */
  clientAddress?: (req: IncomingMessage) => string;
  /** upgrades per client address; undefined: not limited */
  upgradeLimiter?: RateLimiter;
  /** checks the Host of a connection (no token configured: loopback names only); undefined allows all */
  hostAllowed?: (req: IncomingMessage) => boolean;
  heartbeatMs?: number;
  /** a client that cannot keep up (this much unsent) is dropped rather than buffered without bound */
  maxBufferedBytes?: number;
  /** checks the Origin of a browser connection; undefined allows all */
  originAllowed?: (req: IncomingMessage) => boolean;
}

/** A place in one of the two budgets, taken before the handshake and given back when the socket ends. */
interface Place {
  authorized: boolean;
  address: string;
  released?: boolean;
}

interface Client {
  socket: WebSocket;
  place: Place;
  alive: boolean;
}

/**
 * `GET /ws`: pushes every catalog change (recording states, in the order the catalog stored them) and
 * every session event to the connected clients.
 */
export class LiveEvents {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024, perMessageDeflate: false });
  private readonly clients = new Set<Client>();
  private authorizedCount = 0;
  /** unauthenticated clients per address */
  private readonly pending = new Map<string, number>();
  private pendingCount = 0;
  /** connected clients still to authenticate, oldest first */
  private readonly unauthenticated = new Set<Client>();
  private readonly sessionEvents: Subscription;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onFeedChange = (change: FeedChange) => this.broadcast(recordingMessage(change, this.options.signer));
  private closed = false;

  constructor(private readonly options: LiveEventsOptions) {
    options.feed.on('change', this.onFeedChange);
    this.sessionEvents = subscribeEvents(
      options.nc,
      subjects.events.allSessions,
      SessionEventSchema,
      (event) => this.broadcast({ type: 'session', event }),
      options.logger,
    );
    this.heartbeat = setInterval(() => this.checkAlive(), options.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over an HTTP upgrade request for /ws, or refuses it with a plain HTTP status. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) return refuse(socket, 503, 'Service Unavailable');
    if (this.options.hostAllowed && !this.options.hostAllowed(req)) return refuse(socket, 421, 'Misdirected Request');
    if (this.options.originAllowed && !this.options.originAllowed(req)) return refuse(socket, 403, 'Forbidden');
    const address = this.options.clientAddress?.(req) ?? req.socket.remoteAddress ?? '';
    const wait = this.options.upgradeLimiter?.take(address) ?? 0;
    if (wait > 0) {
      this.options.metrics.rateLimited.inc();
      return refuse(socket, 429, 'Too Many Requests', { 'Retry-After': String(wait) });
    }
    // the token comes in the Authorization header or the first message, never in the URL (proxies log URLs)
    const authorization = req.headers.authorization;
    const open = !authEnabled(this.options.auth);
    if (authorization !== undefined && !open && !mayWatch(roleOfToken(this.options.auth, bearerToken(authorization))))
      return refuse(socket, 401, 'Unauthorized');
    const authorized = open || authorization !== undefined;
    if (authorized) {
      if (this.authorizedCount >= this.options.maxClients) return refuse(socket, 503, 'Service Unavailable', { 'Retry-After': '5' });
    } else {
      if ((this.pending.get(address) ?? 0) >= (this.options.maxUnauthenticatedPerClient ?? 4))
        return refuse(socket, 429, 'Too Many Requests', { 'Retry-After': '5' });
      // a full budget gives the newcomer the place of the one waiting longest: sockets that never authenticate
      // cannot keep a browser (which sends its token right after connecting) from getting a place
      if (this.pendingCount >= (this.options.maxUnauthenticated ?? 64) && !this.evictOldestUnauthenticated()) {
        return refuse(socket, 503, 'Service Unavailable', { 'Retry-After': '5' });
      }
    }
    // the place is taken now, before the handshake completes, so concurrent upgrades cannot overshoot
    const place: Place = { authorized, address };
    this.take(place);
    let accepted = false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.accept({ socket: ws, place, alive: true });
    });
    // a handshake that failed never becomes a client: its place is given back here
    socket.once('close', () => {
      if (!accepted) this.release(place);
    });
  }

  private evictOldestUnauthenticated(): boolean {
    const oldest = this.unauthenticated.values().next().value;
    if (!oldest) return false;
    this.unauthenticated.delete(oldest);
    this.release(oldest.place);
    oldest.socket.close(WS_CLOSE.tryAgainLater, 'no token in time');
    return true;
  }

  private take(place: Place): void {
    place.released = false;
    if (place.authorized) this.authorizedCount++;
    else {
      this.pendingCount++;
      this.pending.set(place.address, (this.pending.get(place.address) ?? 0) + 1);
    }
  }

  private release(place: Place): void {
    if (place.released) return;
    place.released = true;
    if (place.authorized) this.authorizedCount--;
    else {
      this.pendingCount--;
      const left = (this.pending.get(place.address) ?? 1) - 1;
      if (left > 0) this.pending.set(place.address, left);
      else this.pending.delete(place.address);
    }
  }

  private accept(client: Client): void {
    const { socket, place } = client;
    this.clients.add(client);
    socket.on('pong', () => (client.alive = true));
    socket.once('close', () => {
      this.clients.delete(client);
      this.unauthenticated.delete(client);
      this.release(place);
    });
    socket.on('error', (err) => this.options.logger.debug({ err }, 'websocket error'));
    if (place.authorized) {
      this.send(client, { type: 'ready' });
      socket.on('message', () => undefined);
      return;
    }
    this.unauthenticated.add(client);
    const timer = setTimeout(() => socket.close(WS_CLOSE.unauthorized, 'unauthorized'), this.options.authTimeoutMs ?? 3000);
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', (data: RawData) => {
      clearTimeout(timer);
      // evicted meanwhile: its place is gone
      if (!this.unauthenticated.delete(client)) return;
      if (!this.checkFirstMessage(data)) {
        socket.close(WS_CLOSE.unauthorized, 'unauthorized');
        return;
      }
      if (this.authorizedCount >= this.options.maxClients) {
        socket.close(WS_CLOSE.tryAgainLater, 'too many clients');
        return;
      }
      // moves from the unauthenticated budget to the authenticated one
      this.release(place);
      place.authorized = true;
      this.take(place);
      this.send(client, { type: 'ready' });
    });
  }

  private checkFirstMessage(data: RawData): boolean {
    if (!authEnabled(this.options.auth)) return true;
    try {
      const parsed = WsClientMessageSchema.safeParse(JSON.parse(wsText(data)));
      return parsed.success && mayWatch(roleOfToken(this.options.auth, parsed.data.token));
    } catch {
      return false;
    }
  }

  private broadcast(message: WsServerMessage): void {
    const text = JSON.stringify(message);
    for (const client of this.clients) if (client.place.authorized) this.sendText(client, text);
  }

  private send(client: Client, message: WsServerMessage): void {
    this.sendText(client, JSON.stringify(message));
  }

  private sendText(client: Client, text: string): void {
    if (client.socket.readyState !== WebSocket.OPEN) return;
    if (client.socket.bufferedAmount > (this.options.maxBufferedBytes ?? 4 * 1024 * 1024)) {
      this.options.logger.warn({ bufferedBytes: client.socket.bufferedAmount }, 'websocket client too slow, dropped');
      client.socket.terminate();
      return;
    }
    client.socket.send(text);
    this.options.metrics.wsMessages.inc();
  }

  private checkAlive(): void {
    // addresses whose upgrade budget has filled up again are forgotten, so memory follows active clients
    this.options.upgradeLimiter?.sweep();
    for (const client of this.clients) {
      if (!client.alive) {
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }

  /** Closes every connection with "going away"; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.options.feed.off('change', this.onFeedChange);
    this.sessionEvents.unsubscribe();
    for (const client of this.clients) client.socket.close(WS_CLOSE.goingAway, 'server shutting down');
    const deadline = Date.now() + 2000;
    while (this.clients.size > 0 && Date.now() < deadline) await sleep(20);
    for (const client of this.clients) client.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function recordingMessage(change: FeedChange, signer: MediaUrlSigner): WsServerMessage {
  return change.type === 'put'
    ? { type: 'recording', revision: change.revision, recording: recordingView(change.recording, signer) }
    : { type: 'recording-deleted', revision: change.revision, id: change.id };
}

/** Live events are reads: the admin and view tokens may follow them. */
function mayWatch(role: Role | undefined): boolean {
  return role === 'admin' || role === 'view';
}

function refuse(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${extra}Content-Length: 0\r\n\r\n`);
}
