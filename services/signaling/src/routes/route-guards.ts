import type { Context, Middleware } from 'koa';
import { access, type AuthPolicy, type Principal } from '../http/auth.js';

/** The access rule of each kind of route, built once from the policy. */
export interface RouteGuards {
  /** the page's assets, health, metrics, the API document */
  open: Middleware;
  /** list, get, play, download, live events, status */
  view: Middleware;
  /** create and end WHIP sessions, start and stop their recordings (handlers check ownership) */
  publish: Middleware;
  /** a session: its publisher, or a reader */
  session: Middleware;
  /** everything, including deletes */
  admin: Middleware;
  /** a download: a reader's token, or a short-lived signed URL */
  media: Middleware;
}

export function routeGuards(policy: AuthPolicy, signedMedia: (ctx: Context) => Principal | undefined): RouteGuards {
  return {
    open: access(policy, { open: true }),
    view: access(policy, { roles: ['admin', 'view'] }),
    publish: access(policy, { roles: ['admin', 'publish'] }),
    session: access(policy, { roles: ['admin', 'publish', 'view'] }),
    admin: access(policy, { roles: ['admin'] }),
    media: access(policy, { roles: ['admin', 'view'] }, signedMedia),
  };
}
