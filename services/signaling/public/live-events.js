// @ts-check
// GET /ws: recording changes in the order they happened (the messages of
// services/signaling/src/events/ws-messages.ts); reconnects with backoff.

/** @typedef {import('../src/events/ws-messages.js').WsServerMessage} WsServerMessage */
/** @typedef {import('../src/events/ws-messages.js').WsClientMessage} WsClientMessage */

/** the close code for a missing or wrong token (WS_CLOSE.unauthorized) */
const UNAUTHORIZED = 4401;

/**
 * @typedef {object} LiveEventHooks
 * @property {() => string} token sent in the first message (empty: none)
 * @property {(message: WsServerMessage) => void} onMessage
 * @property {(state: 'connecting' | 'live' | 'offline', text: string) => void} connection
 * @property {(reachable: boolean) => void} reachable
 * @property {(wasWrong: boolean) => Promise<void>} askForToken
 */

/** @param {LiveEventHooks} hooks */
export function createLiveEvents(hooks) {
  /** @type {WebSocket | null} */
  let socket = null;
  let attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  const connect = () => {
    clearTimeout(timer);
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    hooks.connection('connecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
    const ws = new WebSocket(url);
    socket = ws;
    // the token goes in the first message rather than the URL, which proxies tend to log
    ws.addEventListener('open', () => {
      const token = hooks.token();
      /** @type {WsClientMessage} */
      const auth = { type: 'auth', token };
      if (token) ws.send(JSON.stringify(auth));
    });
    ws.addEventListener('message', (event) => {
      /** @type {unknown} */
      let data;
      try {
        data = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const message = /** @type {WsServerMessage} */ (data);
      if (message.type === 'ready') {
        attempt = 0;
        hooks.connection('live', 'Live');
        hooks.reachable(true);
      }
      hooks.onMessage(message);
    });
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return;
      socket = null;
      if (event.code === UNAUTHORIZED) {
        hooks.connection('offline', 'Needs token');
        void hooks.askForToken(Boolean(hooks.token()));
        return;
      }
      attempt++;
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() / 2);
      hooks.connection('offline', 'Offline — reconnecting');
      // a socket that never opened is often the server being down: check, so the banner can say so
      fetch('/healthz', { cache: 'no-store' }).then(
        () => hooks.reachable(true),
        () => hooks.reachable(false),
      );
      timer = setTimeout(connect, delay);
    });
  };

  return {
    connect,
    reconnectNow() {
      attempt = 0;
      const old = socket;
      socket = null;
      old?.close();
      connect();
    },
  };
}
