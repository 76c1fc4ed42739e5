import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NatsConnection, Subscription } from 'nats';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SessionEventSchema, subjects } from '@recstack/contracts';
import { subscribeEvents, type Logger } from '@recstack/service-kit';
import { authEnabled, bearerToken, roleOfToken, type AuthPolicy, type Role } from '../http/auth.js';
import type { SignalingMetrics } from '../metrics.js';
import type { CatalogFeed, FeedChange } from '../recordings/catalog-feed.js';
import { WS_CLOSE, WsClientMessageSchema, type WsServerMessage } from './ws-messages.js';

export interface LiveEventsOptions {
  feed: CatalogFeed;
  nc: NatsConnection;
  logger: Logger;
  metrics: SignalingMetrics;
  auth: AuthPolicy;
  maxClients: number;
  /** a client that has not sent its token this long after connecting is closed */
  authTimeoutMs?: number;
  heartbeatMs?: number;
  /** a client that cannot keep up (this much unsent) is dropped rather than buffered without bound */
  maxBufferedBytes?: number;
  /** checks the Origin of a browser connection; undefined allows all */
  originAllowed?: (req: IncomingMessage) => boolean;
}

interface Client {
  socket: WebSocket;
  authorized: boolean;
  alive: boolean;
}

/**
 * `GET /ws`: pushes every catalog change (recording states, in the order the catalog stored them) and
 * every session event to the connected clients.
 */
export class LiveEvents {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024, perMessageDeflate: false });
  private readonly clients = new Set<Client>();
  private readonly sessionEvents: Subscription;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly onFeedChange = (change: FeedChange) => this.broadcast(recordingMessage(change));
  private closed = false;

  constructor(private readonly options: LiveEventsOptions) {
    options.feed.on('change', this.onFeedChange);
    this.sessionEvents = subscribeEvents(options.nc, subjects.events.allSessions, SessionEventSchema, (event) => this.broadcast({ type: 'session', event }), options.logger);
    this.heartbeat = setInterval(() => this.checkAlive(), options.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over an HTTP upgrade request for /ws, or refuses it with a plain HTTP status. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (this.closed) return refuse(socket, 503, 'Service Unavailable');
    if (this.options.originAllowed && !this.options.originAllowed(req)) return refuse(socket, 403, 'Forbidden');
    const queryToken = url.searchParams.get('access_token') ?? undefined;
    const authorization = req.headers.authorization;
    const presented = authorization !== undefined || queryToken !== undefined;
    const authorized = !authEnabled(this.options.auth) || mayWatch(roleOfToken(this.options.auth, authorization !== undefined ? bearerToken(authorization) : queryToken));
    // credentials in the request must be right; none at all may still come as the first message
    if (presented && !authorized) return refuse(socket, 401, 'Unauthorized');
    if (this.clients.size >= this.options.maxClients) return refuse(socket, 503, 'Service Unavailable');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, authorized));
  }

  private accept(socket: WebSocket, authorized: boolean): void {
    const client: Client = { socket, authorized, alive: true };
    this.clients.add(client);
    socket.on('pong', () => (client.alive = true));
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', (err) => this.options.logger.debug({ err }, 'websocket error'));
    if (authorized) {
      this.send(client, { type: 'ready' });
      socket.on('message', () => undefined);
      return;
    }
    const timer = setTimeout(() => socket.close(WS_CLOSE.unauthorized, 'unauthorized'), this.options.authTimeoutMs ?? 5000);
    socket.once('close', () => clearTimeout(timer));
    socket.once('message', (data: RawData) => {
      clearTimeout(timer);
      if (!this.checkFirstMessage(data)) {
        socket.close(WS_CLOSE.unauthorized, 'unauthorized');
        return;
      }
      client.authorized = true;
      this.send(client, { type: 'ready' });
    });
  }

  private checkFirstMessage(data: RawData): boolean {
    if (!authEnabled(this.options.auth)) return true;
    try {
      const parsed = WsClientMessageSchema.safeParse(JSON.parse(String(data)));
      return parsed.success && mayWatch(roleOfToken(this.options.auth, parsed.data.token));
    } catch {
      return false;
    }
  }

  private broadcast(message: WsServerMessage): void {
    const text = JSON.stringify(message);
    for (const client of this.clients) if (client.authorized) this.sendText(client, text);
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
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const client of this.clients) client.socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function recordingMessage(change: FeedChange): WsServerMessage {
  return change.type === 'put'
    ? { type: 'recording', revision: change.revision, recording: change.recording }
    : { type: 'recording-deleted', revision: change.revision, id: change.id };
}

/** Live events are reads: the admin and view tokens may follow them. */
function mayWatch(role: Role | undefined): boolean {
  return role === 'admin' || role === 'view';
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
