import type Router from '@koa/router';
import { readTextBody } from '../http/body.js';
import type { RouteGuards } from './route-guards.js';
import { principal } from '../http/auth.js';
import type { ClientSessionQuota } from '../whip/client-session-quota.js';
import type { SessionOwners } from '../whip/session-owners.js';
import type { PublisherSessions } from '../whip/publisher-sessions.js';
import { sessionIdParam } from './params.js';

export interface WhipRoutesDeps {
  sessions: PublisherSessions;
  maxSdpBytes: number;
  guards: RouteGuards;
  quota: ClientSessionQuota;
  owners: SessionOwners;
}

/** WHIP (RFC 9725): POST an SDP offer to create a session, DELETE its resource to end it. */
export function whipRoutes(router: Router, deps: WhipRoutesDeps): void {
  router.post('/whip', deps.guards.publish, async (ctx) => {
    const offer = await readTextBody(ctx, 'application/sdp', deps.maxSdpBytes);
    const who = principal(ctx);
    const reply = await deps.quota.hold(who.key, async () => {
      const created = await deps.sessions.create(offer);
      await deps.owners.record(created.sessionId, who);
      return created;
    });
    ctx.status = 201;
    ctx.type = 'application/sdp';
    ctx.set('location', `/whip/${reply.sessionId}`);
    ctx.set('cache-control', 'no-store');
    ctx.body = reply.answer;
  });

  router.delete('/whip/:sessionId', deps.guards.publish, async (ctx) => {
    const sessionId = sessionIdParam(ctx.params.sessionId);
    await deps.owners.assertMayControl(principal(ctx), sessionId);
    await deps.sessions.close(sessionId);
    deps.quota.release(sessionId);
    await deps.owners.forget(sessionId);
    ctx.body = { sessionId, closed: true };
  });
}
