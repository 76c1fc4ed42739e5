import type Router from '@koa/router';
import type { Context } from 'koa';
import { isTerminal, mimeType, type Recording } from '@recstack/contracts';
import type { RecordingCatalog } from '@recstack/catalog';
import { HttpError, NotFoundError } from '../http/http-error.js';
import { contentRange, parseRange, unsatisfiedRange } from '../http/range.js';
import { NoSuchRecordingError } from '../errors.js';
import type { RecordingControl } from '../recordings/recording-control.js';
import type { MediaUrlSigner } from '../recordings/media-urls.js';
import type { RecordingFiles } from '../recordings/recording-files.js';
import { recordingView } from '../recordings/recording-view.js';
import type { SessionOwners } from '../whip/session-owners.js';
import { principal } from '../http/auth.js';
import { recordingIdParam } from './params.js';
import type { RouteGuards } from './route-guards.js';

export interface RecordingRoutesDeps {
  catalog: RecordingCatalog;
  control: RecordingControl;
  files: RecordingFiles;
  guards: RouteGuards;
  signer: MediaUrlSigner;
  owners: SessionOwners;
}

export function recordingRoutes(router: Router, deps: RecordingRoutesDeps): void {
  const load = async (ctx: Context & { params: Record<string, string> }): Promise<Recording> => {
    const recording = await deps.control.get(recordingIdParam(ctx.params.id));
    if (!recording) throw new NoSuchRecordingError();
    return recording;
  };

  router.get('/api/recordings', deps.guards.view, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = (await deps.control.list()).map((r) => recordingView(r, deps.signer));
  });

  router.get('/api/recordings/:id', deps.guards.view, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = recordingView(await load(ctx), deps.signer);
  });

  router.post('/api/recordings/:id/stop', deps.guards.publish, async (ctx) => {
    const who = principal(ctx);
    if (who.role !== 'admin') await deps.owners.assertMayControl(who, (await load(ctx)).sessionId);
    ctx.body = recordingView(await deps.control.stop(recordingIdParam(ctx.params.id)), deps.signer);
  });

  router.delete('/api/recordings/:id', deps.guards.admin, async (ctx) => {
    await deps.control.remove(recordingIdParam(ctx.params.id));
    ctx.status = 204;
  });

  const media = async (ctx: Context & { params: Record<string, string> }) => {
    const recording = await load(ctx);
    if (!isTerminal(recording.status)) throw new HttpError(409, 'CONFLICT', 'the recording is not finished yet');
    const file = await deps.files.find(recording);
    if (!file) throw new NotFoundError('NOT_FOUND', 'the recording has no file');
    const etag = `"${file.size.toString(16)}-${file.modified.getTime().toString(16)}"`;
    ctx.set('accept-ranges', 'bytes');
    ctx.set('etag', etag);
    ctx.set('last-modified', file.modified.toUTCString());
    ctx.set('cache-control', 'private, no-cache');
    const disposition = ctx.query.download !== undefined ? 'attachment' : 'inline';
    ctx.set('content-disposition', `${disposition}; filename="${recording.fileName}"`);
    ctx.type = mimeType(recording.container, recording.tracks.length === 0 || recording.tracks.some((t) => t.kind === 'video'));

    // If-Range: a range only applies to the version of the file the client saw before
    const ifRange = ctx.get('if-range');
    const range = ifRange && ifRange !== etag ? ({ type: 'full' } as const) : parseRange(ctx.get('range') || undefined, file.size);
    if (range.type === 'unsatisfiable') {
      throw new HttpError(416, 'BAD_REQUEST', 'the requested range lies outside the file', { headers: { 'content-range': unsatisfiedRange(file.size) } });
    }
    if (range.type === 'partial') {
      ctx.status = 206;
      ctx.set('content-range', contentRange(range.range, file.size));
      ctx.length = range.range.end - range.range.start + 1;
    } else {
      ctx.status = 200;
      ctx.length = file.size;
    }
    // HEAD: headers only, and no file handle opened for a body nobody reads
    if (ctx.method === 'HEAD') return;
    ctx.body = file.open(range.type === 'partial' ? range.range : undefined);
  };
  // the router answers HEAD with the GET route; `media` leaves the body out then
  router.get('/api/recordings/:id/media', deps.guards.media, media);
}
