import type Router from '@koa/router';
import { z } from 'zod';
import { ContainerSchema, OutputAudioCodecSchema } from '@recstack/contracts';
import type { SessionDirectory } from '../backends/session-directory.js';
import { readJsonBody } from '../http/body.js';
import { NoSuchSessionError } from '../errors.js';
import type { RecordingControl } from '../recordings/recording-control.js';
import { sessionIdParam } from './params.js';
import type { RouteGuards } from './route-guards.js';
import { principal } from '../http/auth.js';
import type { MediaUrlSigner } from '../recordings/media-urls.js';
import { recordingView } from '../recordings/recording-view.js';
import type { SessionOwners } from '../whip/session-owners.js';

/** The optional body of a start: the output format; left out, the defaults of `resolveOutputFormat` apply. */
export const StartRecordingBodySchema = z
  .object({
    container: ContainerSchema.optional(),
    audioCodec: OutputAudioCodecSchema.optional(),
  })
  .strict();

export interface SessionRoutesDeps {
  sessions: SessionDirectory;
  control: RecordingControl;
  maxJsonBytes: number;
  guards: RouteGuards;
  signer: MediaUrlSigner;
  owners: SessionOwners;
}

export function sessionRoutes(router: Router, deps: SessionRoutesDeps): void {
  router.get('/api/sessions/:sessionId', deps.guards.session, async (ctx) => {
    const sessionId = sessionIdParam(ctx.params.sessionId);
    const who = principal(ctx);
    if (who.role === 'publish') await deps.owners.assertMayControl(who, sessionId);
    const session = await deps.sessions.get(sessionId);
    if (!session) throw new NoSuchSessionError();
    ctx.body = session;
  });

  router.post('/api/sessions/:sessionId/recordings', deps.guards.publish, async (ctx) => {
    const sessionId = sessionIdParam(ctx.params.sessionId);
    await deps.owners.assertMayControl(principal(ctx), sessionId);
    const body = await readJsonBody(ctx, StartRecordingBodySchema, deps.maxJsonBytes);
    const recording = await deps.control.start(sessionId, body);
    ctx.status = 201;
    ctx.set('location', `/api/recordings/${recording.id}`);
    ctx.body = recordingView(recording, deps.signer);
  });
}
