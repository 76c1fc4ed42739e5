import { z } from 'zod';
import { ErrorBodySchema, PublisherSessionSchema } from '@recstack/contracts';
import { RecordingViewSchema } from './recordings/recording-view.js';
import { WsClientMessageSchema, WsServerMessageSchema } from './events/ws-messages.js';
import { StartRecordingBodySchema } from './routes/session-routes.js';

/** Response bodies that are not contract messages; declared here so the document and tests share them. */
export const HealthSchema = z.object({ status: z.literal('ok') });
const count = z.number().int().nonnegative();
const BackendsShape = {
  media: z.object({ instances: count, sessions: count, capacity: count }),
  recorders: z.object({ instances: count, active: count, capacity: count }),
};
export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  checks: z.object({ nats: z.boolean(), media: count, recorders: count }),
  backends: z.object(BackendsShape).optional(),
});
export const StatusSchema = z.object({
  ready: z.boolean(),
  nats: z.boolean(),
  ...BackendsShape,
  /** a media instance answers and has room for another session */
  canPublish: z.boolean(),
  /** a recorder answers and has room for another recording */
  canRecord: z.boolean(),
});
export const SessionClosedSchema = z.object({ sessionId: z.string(), closed: z.literal(true) });
export const ErrorResponseSchema = z.object({ error: ErrorBodySchema });
export const RecordingListSchema = z.array(RecordingViewSchema);

const COMPONENTS: Array<[string, z.ZodType]> = [
  ['ErrorBody', ErrorBodySchema],
  ['ErrorResponse', ErrorResponseSchema],
  ['Recording', RecordingViewSchema],
  ['RecordingList', RecordingListSchema],
  ['Session', PublisherSessionSchema],
  ['SessionClosed', SessionClosedSchema],
  ['StartRecordingBody', StartRecordingBodySchema],
  ['Health', HealthSchema],
  ['Readiness', ReadinessSchema],
  ['Status', StatusSchema],
  ['WsServerMessage', WsServerMessageSchema],
  ['WsClientMessage', WsClientMessageSchema],
];

type Json = Record<string, unknown>;
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string): Json => ({ content: { 'application/json': { schema: ref(name) } } });
const ok = (description: string, name: string): Json => ({ description, ...json(name) });
const error = (description: string): Json => ({ description, ...json('ErrorResponse') });

/** Errors any protected endpoint may answer. */
const COMMON_ERRORS: Json = {
  '401': { $ref: '#/components/responses/Unauthorized' },
  '403': error(
    "A request from another site's page while the server runs without a token (UNAUTHORIZED), or a publish token acting on a session it did not create (FORBIDDEN)",
  ),
  '421': error('Without a token: a Host that is not a loopback name or in ALLOWED_HOSTS (MISDIRECTED_REQUEST)'),
  '429': { $ref: '#/components/responses/RateLimited' },
  '500': error('Internal error (INTERNAL)'),
  '503': {
    ...error(
      'A backend service is unavailable or at capacity (MEDIA_UNAVAILABLE, RECORDER_UNAVAILABLE, AT_CAPACITY, NO_FREE_PORTS, SHUTTING_DOWN); see Retry-After',
    ),
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again (10 for AT_CAPACITY)', schema: { type: 'integer' } } },
  },
};
/** Where signaling asks media or a recorder: their reply may not match the contract. */
const BACKEND_ERRORS: Json = {
  '502': error('A backend service failed or sent an invalid reply (INVALID_REPLY)'),
  '504': error('A backend service did not answer in time (TIMEOUT)'),
};
const idParam = (name: string, what: string): Json => ({
  name,
  in: 'path',
  required: true,
  description: what,
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
});

function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of COMPONENTS) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, target: 'draft-2020-12', io: 'output', unrepresentable: 'any' });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    // each component is a schema inside the document, not a document of its own
    const { $schema: _dialect, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

/** The OpenAPI 3.1 document of the HTTP API, with schemas derived from the zod schemas the code validates with. */
export function buildOpenApiDocument(options: { version: string; authRequired: boolean }): Json {
  const secured = options.authRequired ? [{ bearer: [] }] : [];
  return {
    openapi: '3.1.0',
    info: {
      title: 'recstack signaling',
      version: options.version,
      description:
        'Publish a camera with WHIP (RFC 9725), record it, list, play and download the recordings, and follow their state live over a WebSocket. ' +
        'Errors are `{ "error": { "code", "message" } }`. When the server has tokens, every /whip, /api and /ws call needs `Authorization: Bearer <token>`: ' +
        'API_TOKEN (admin) may do everything; PUBLISH_TOKEN may publish (WHIP) and start/stop the recordings of the sessions it created; VIEW_TOKEN may list, get, play and download recordings, follow /ws and read /api/status. ' +
        'No token is ever taken from a URL: a recording carries `mediaUrl`, a short-lived signed path of its file for a <video src> or a download link. ' +
        'Without any token, only requests naming a loopback Host (or one in ALLOWED_HOSTS) are answered.',
    },
    servers: [{ url: '/' }],
    security: secured,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        signedUrl: { type: 'apiKey', in: 'query', name: 'sig', description: "with `expires`: the signature in a recording's `mediaUrl`" },
      },
      responses: {
        Unauthorized: { ...error('Missing or wrong token'), headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } },
        RateLimited: { ...error('Too many requests (RATE_LIMITED)'), headers: { 'Retry-After': { schema: { type: 'integer' } } } },
      },
    },
    paths: {
      '/healthz': { get: { summary: 'The process is up', security: [], responses: { '200': ok('Up', 'Health') } } },
      '/readyz': {
        get: {
          summary: 'Ready to serve: NATS answers. The media and recorder instances answering (and their capacity) are in the body and do not decide it',
          security: [],
          responses: { '200': ok('Ready', 'Readiness'), '503': ok('Not ready', 'Readiness') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [],
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
      '/ws': {
        get: {
          summary: 'Live events (WebSocket)',
          description:
            'Upgrade to a WebSocket. The server sends WsServerMessage JSON texts: `ready`, then every recording change in catalog order (`recording` with the whole object, `recording-deleted`, each with the bucket revision) and every session event. ' +
            'Without a token in the Authorization header (a browser cannot set one), the first client message must be a WsClientMessage `{ "type": "auth", "token" }` within WS_AUTH_TIMEOUT_SECONDS (closed with 4401 otherwise). ' +
            "Connections that have not authenticated have their own small budget (MAX_WS_UNAUTHENTICATED overall, where the one waiting longest gives way to a newcomer and is closed with 1013; MAX_WS_UNAUTHENTICATED_PER_CLIENT per address) and never take an authenticated client's place (MAX_WS_CLIENTS); upgrades are rate-limited per address (WS_UPGRADES_PER_MINUTE).",
          security: options.authRequired ? [{ bearer: [] }, {}] : [],
          responses: {
            '101': { description: 'Switching to the WebSocket protocol' },
            '401': { description: 'Wrong token (the upgrade is refused)' },
            '421': { description: 'Without a token: a Host that is not a loopback name or in ALLOWED_HOSTS' },
            '429': { description: 'Too many upgrades, or too many unauthenticated connections, from this address' },
            '503': { description: 'No room for another client' },
            '426': error('Not a WebSocket upgrade request'),
          },
        },
      },
      '/whip': {
        post: {
          summary: 'Publish: create a session from an SDP offer (WHIP)',
          requestBody: { required: true, content: { 'application/sdp': { schema: { type: 'string' } } } },
          responses: {
            '201': {
              description: 'The SDP answer; Location is the session resource',
              headers: { Location: { required: true, schema: { type: 'string' }, description: '/whip/{sessionId}' } },
              content: { 'application/sdp': { schema: { type: 'string' } } },
            },
            '400': error('Malformed SDP (BAD_REQUEST)'),
            '413': error('SDP larger than the limit (PAYLOAD_TOO_LARGE)'),
            '415': error('Content-Type is not application/sdp (UNSUPPORTED_MEDIA_TYPE)'),
            '422': error('No codec of the offer can be received (UNSUPPORTED_CODEC, NO_MEDIA)'),
            ...BACKEND_ERRORS,
            ...COMMON_ERRORS,
            '429': {
              ...error(
                'This client (its token, or its address without tokens) already holds MAX_SESSIONS_PER_CLIENT sessions (TOO_MANY_SESSIONS), or too many requests (RATE_LIMITED)',
              ),
              headers: { 'Retry-After': { schema: { type: 'integer' } } },
            },
          },
        },
      },
      '/whip/{sessionId}': {
        delete: {
          summary: 'End a session (finalizes its running recording)',
          parameters: [idParam('sessionId', 'from the Location of POST /whip')],
          responses: { '200': ok('Ended', 'SessionClosed'), '404': error('No such session (NO_SUCH_SESSION)'), ...BACKEND_ERRORS, ...COMMON_ERRORS },
        },
      },
      '/api/sessions/{sessionId}': {
        get: {
          summary: 'A publisher session and its tracks',
          parameters: [idParam('sessionId', 'session id')],
          responses: { '200': ok('The session', 'Session'), '404': error('No such session (NO_SUCH_SESSION)'), ...COMMON_ERRORS },
        },
      },
      '/api/sessions/{sessionId}/recordings': {
        post: {
          summary: 'Start recording a session',
          parameters: [idParam('sessionId', 'session id')],
          requestBody: { required: false, content: { 'application/json': { schema: ref('StartRecordingBody') } } },
          responses: {
            '201': {
              ...ok('Started; the recording object (status starting or recording)', 'Recording'),
              headers: { Location: { schema: { type: 'string' } } },
            },
            '400': error('Invalid body (BAD_REQUEST) or a format the session cannot be written to (UNSUPPORTED_FORMAT)'),
            '404': error('No such session (NO_SUCH_SESSION)'),
            '409': error('The session is already being recorded (ALREADY_RECORDING)'),
            '413': error('Body too large (PAYLOAD_TOO_LARGE)'),
            '415': error('Body is not application/json (UNSUPPORTED_MEDIA_TYPE)'),
            '422': error('The session has a codec that cannot be recorded (UNSUPPORTED_CODEC)'),
            '507': error('No recorder has enough free disk space for another recording (INSUFFICIENT_STORAGE)'),
            ...BACKEND_ERRORS,
            ...COMMON_ERRORS,
          },
        },
      },
      '/api/status': {
        get: {
          summary: 'Whether signaling can serve, and the media and recorder instances answering with their load and capacity',
          responses: { '200': ok('Status', 'Status'), ...COMMON_ERRORS },
        },
      },
      '/api/recordings': {
        get: { summary: 'All recordings, newest first', responses: { '200': ok('Recordings', 'RecordingList'), ...COMMON_ERRORS } },
      },
      '/api/recordings/{id}': {
        get: {
          summary: 'One recording',
          parameters: [idParam('id', 'recording id')],
          responses: { '200': ok('The recording', 'Recording'), '404': error('No such recording (NO_SUCH_RECORDING)'), ...COMMON_ERRORS },
        },
        delete: {
          summary: 'Delete a recording (stopped first if it runs), its file and its entry',
          parameters: [idParam('id', 'recording id')],
          responses: { '204': { description: 'Deleted' }, '404': error('No such recording (NO_SUCH_RECORDING)'), ...BACKEND_ERRORS, ...COMMON_ERRORS },
        },
      },
      '/api/recordings/{id}/stop': {
        post: {
          summary: 'Stop a recording; answers once the file is finalized',
          parameters: [idParam('id', 'recording id')],
          responses: {
            '200': ok('The finalized recording (status done or failed)', 'Recording'),
            '404': error('No such recording (NO_SUCH_RECORDING)'),
            ...BACKEND_ERRORS,
            '502': error('The recorder failed to finalize (RECORDER_FAILED, FILE_INVALID) or a backend sent an invalid reply (INVALID_REPLY)'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/api/recordings/{id}/media': (() => {
        const operation = (summary: string, withBody: boolean): Json => ({
          summary,
          parameters: [
            idParam('id', 'recording id'),
            { name: 'Range', in: 'header', required: false, schema: { type: 'string' }, description: 'one byte range, e.g. bytes=0-1023' },
            { name: 'download', in: 'query', required: false, schema: { type: 'string' }, description: 'present: Content-Disposition attachment' },
          ],
          description: "Use the recording's `mediaUrl` (signed, short-lived) where no header can be sent: a <video src>, a download link.",
          security: options.authRequired ? [{ bearer: [] }, { signedUrl: [] }] : [],
          responses: {
            '200': {
              description: 'The whole file',
              ...(withBody
                ? { content: { 'video/*': { schema: { type: 'string', contentMediaType: 'video/*' } }, 'audio/*': { schema: { type: 'string' } } } }
                : {}),
            },
            '206': { description: 'The requested range', headers: { 'Content-Range': { required: true, schema: { type: 'string' } } } },
            '404': error('No such recording (NO_SUCH_RECORDING) or no file (NOT_FOUND)'),
            '409': error('The recording is not finished yet (CONFLICT)'),
            '416': { ...error('Range outside the file'), headers: { 'Content-Range': { schema: { type: 'string' } } } },
            ...COMMON_ERRORS,
          },
        });
        return { get: operation('The recording file (HTTP Range supported)', true), head: operation('Headers of the recording file', false) };
      })(),
    },
  };
}
