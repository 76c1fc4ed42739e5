import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { HttpError } from '../http/http-error.js';

/**
 * `GET /ws` is a WebSocket; the upgrade is taken by the HTTP server before Koa sees it. A plain GET
 * ends up here and is told what to do instead.
 */
export function eventsRoutes(router: Router, guard: Middleware): void {
  router.get('/ws', guard, () => {
    throw new HttpError(426, 'BAD_REQUEST', 'this endpoint is a WebSocket: connect with an Upgrade request', {
      headers: { upgrade: 'websocket', connection: 'Upgrade' },
    });
  });
}
