import { BUCKETS } from './buckets.js';
import { subjects } from './subjects.js';

/**
 * Who may publish and subscribe to what on NATS: the one source of the nats-server authorization that
 * `make run`, docker-compose.yml and the Kubernetes manifests use (scripts/nats-auth-config.ts writes the
 * committed copies; a test fails when they drift). Each service is its own NATS user.
 */
export const NATS_SERVICES = ['signaling', 'media', 'recorder'] as const;
export type NatsService = (typeof NATS_SERVICES)[number];

export interface NatsPermissions {
  /** subjects the user may publish to (besides replies to the requests it received, see allowResponses) */
  publish: string[];
  /** subjects the user may subscribe to (with or without a queue group) */
  subscribe: string[];
  /** replies to requests the user received are allowed without naming the requester's inbox */
  allowResponses: boolean;
}

/** The user name a service connects as. */
export function natsUser(service: NatsService): string {
  return service;
}

/**
 * Each service's inboxes (request replies, JetStream consumer deliveries) live under its own prefix, so
 * no service may subscribe to another's replies.
 */
export function natsInboxPrefix(service: NatsService): string {
  return `_INBOX_${service}`;
}

/** The environment variable holding a service's NATS password where the server reads it (k8s, compose). */
export function natsPasswordVariable(service: NatsService): string {
  return `NATS_${service.toUpperCase()}_PASSWORD`;
}

const ANY = 'ANYTOKEN';
/** A per-instance subject with its id token as a wildcard, built by the subject's own function. */
function anyOf(subject: (id: string) => string): string {
  const built = subject(ANY);
  if (built.split('.').filter((t) => t === ANY).length !== 1) throw new Error(`cannot make a pattern of ${built}`);
  return built
    .split('.')
    .map((t) => (t === ANY ? '*' : t))
    .join('.');
}

type Access = 'read' | 'write';

/**
 * JetStream API calls on one bucket's stream. Readers may look entries up, watch them (ordered
 * consumers) and read them with pull consumers; writers may also create and resize the stream, put entries and purge (object deletes).
 */
function streamApi(stream: string, access: Access): string[] {
  const read = [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    // pull consumers (signaling streams downloads chunk by chunk) ask for messages and acknowledge them
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
    // ordered consumers answer the server's flow-control requests
    `$JS.FC.${stream}.>`,
  ];
  if (access === 'read') return read;
  return [...read, `$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`, `$JS.API.STREAM.PURGE.${stream}`];
}

function kvBucket(bucket: string, access: Access): string[] {
  return [...streamApi(`KV_${bucket}`, access), ...(access === 'write' ? [`$KV.${bucket}.>`] : [])];
}

function objectBucket(bucket: string, access: Access): string[] {
  return [...streamApi(`OBJ_${bucket}`, access), ...(access === 'write' ? [`$O.${bucket}.>`] : [])];
}

/**
 * Every JetStream client asks whether JetStream is there (account info) and finds a bucket's stream by
 * its subjects (names only, no content).
 */
const JS_COMMON = ['$JS.API.INFO', '$JS.API.STREAM.NAMES'];

export function natsPermissions(service: NatsService): NatsPermissions {
  const inbox = `${natsInboxPrefix(service)}.>`;
  switch (service) {
    case 'signaling':
      return {
        publish: [
          subjects.media.createSession,
          anyOf(subjects.media.createSessionOn),
          anyOf(subjects.media.closeSession),
          anyOf(subjects.media.startRecording),
          anyOf(subjects.media.stopRecording),
          subjects.media.ping,
          anyOf(subjects.recorder.stop),
          subjects.recorder.ping,
          ...JS_COMMON,
          // the catalog: creates entries, marks starts failed, deletes; sessions are only read
          ...kvBucket(BUCKETS.recordings, 'write'),
          ...kvBucket(BUCKETS.sessions, 'read'),
          // who created each publisher session (a PUBLISH_TOKEN acts only on its own)
          ...kvBucket(BUCKETS.sessionOwners, 'write'),
          // downloads, and deletes files with their recordings (STORAGE=nats)
          ...objectBucket(BUCKETS.recordingFiles, 'write'),
        ],
        subscribe: [inbox, subjects.events.allSessions],
        allowResponses: false,
      };
    case 'media':
      return {
        publish: [
          subjects.recorder.start,
          anyOf(subjects.recorder.startOn),
          anyOf(subjects.recorder.stop),
          subjects.recorder.ping,
          anyOf(subjects.recorder.pingOne),
          subjects.events.allSessions,
          subjects.events.allRecordings,
          ...JS_COMMON,
          ...kvBucket(BUCKETS.recordings, 'write'),
          ...kvBucket(BUCKETS.sessions, 'write'),
        ],
        subscribe: [
          inbox,
          subjects.media.createSession,
          anyOf(subjects.media.createSessionOn),
          anyOf(subjects.media.closeSession),
          anyOf(subjects.media.startRecording),
          anyOf(subjects.media.stopRecording),
          subjects.media.ping,
          subjects.events.allRecordings,
          subjects.recorder.draining,
          subjects.recorder.lost,
        ],
        allowResponses: true,
      };
    case 'recorder':
      return {
        publish: [
          // the reconciler asks who is alive before it takes over a recording
          subjects.recorder.ping,
          subjects.media.ping,
          subjects.events.allRecordings,
          // a drain asks media to hand its recordings over
          subjects.recorder.draining,
          // a recorder restarted on a dead one's folder tells media which recordings that one held
          subjects.recorder.lost,
          // a done file's background verification
          subjects.events.allRecordingVerifications,
          ...JS_COMMON,
          ...kvBucket(BUCKETS.recordings, 'write'),
          ...objectBucket(BUCKETS.recordingFiles, 'write'),
        ],
        subscribe: [
          inbox,
          subjects.recorder.start,
          anyOf(subjects.recorder.startOn),
          anyOf(subjects.recorder.stop),
          subjects.recorder.ping,
          anyOf(subjects.recorder.pingOne),
        ],
        allowResponses: true,
      };
  }
}

/** A password written into the configuration, or the environment variable nats-server reads it from. */
export type NatsPasswordSource = { literal: string } | { variable: string };

function quoted(value: string): string {
  return JSON.stringify(value);
}

function list(values: readonly string[], indent: string): string {
  return `[\n${values.map((v) => `${indent}  ${quoted(v)}`).join('\n')}\n${indent}]`;
}

/**
 * nats-server's `authorization` block: one user per service with its permissions. `noAuthUser` maps
 * connections without credentials to one of the users (tests use it for an unrestricted test client).
 */
export function natsAuthorizationConfig(
  passwords: Record<NatsService, NatsPasswordSource>,
  extraUsers: Array<{ user: string; password: string }> = [],
): string {
  const users = NATS_SERVICES.map((service) => {
    const p = natsPermissions(service);
    const source = passwords[service];
    const password = 'literal' in source ? quoted(source.literal) : `$${source.variable}`;
    return [
      '    {',
      `      user: ${quoted(natsUser(service))}`,
      `      password: ${password}`,
      '      permissions: {',
      `        publish: { allow: ${list(p.publish, '        ')} }`,
      `        subscribe: { allow: ${list(p.subscribe, '        ')} }`,
      ...(p.allowResponses ? ['        allow_responses: true'] : []),
      '      }',
      '    }',
    ].join('\n');
  });
  const extra = extraUsers.map((u) => `    { user: ${quoted(u.user)}, password: ${quoted(u.password)} }`);
  return ['authorization {', '  users: [', ...users, ...extra, '  ]', '}'].join('\n');
}
