import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, Events, type NatsConnection } from 'nats';
import { BUCKETS, natsInboxPrefix, subjects, type NatsService, type Recording } from '@recstack/contracts';
import { createLogger, decodeMessage, encodeJson } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { z } from 'zod';
import { RecordingCatalog, newRecording, openRecordingFiles } from './index.js';

// Each service's NATS user against a real nats-server configured from nats-permissions.ts: what the
// service does works, what it must not do is refused by the server.

const logger = createLogger('test', 'silent');
let server: TestNatsServer;
const clients = new Map<NatsService, NatsConnection>();
const violations = new Map<NatsService, string[]>();
let admin: NatsConnection;

async function connectAs(service: NatsService): Promise<NatsConnection> {
  const credentials = server.credentials(service);
  assert.ok(credentials);
  const nc = await connect({ servers: server.url, user: credentials.user, pass: credentials.password, inboxPrefix: natsInboxPrefix(service) });
  const seen: string[] = [];
  violations.set(service, seen);
  void (async () => {
    for await (const status of nc.status()) {
      // the server's -ERR names the operation and the subject; nats.js hands them over in permissionContext
      const context = (status as { permissionContext?: { operation: string; subject: string } }).permissionContext;
      if (status.type === Events.Error && context) seen.push(`${context.operation} to "${context.subject}"`);
    }
  })();
  return nc;
}

function client(service: NatsService): NatsConnection {
  const nc = clients.get(service);
  assert.ok(nc);
  return nc;
}

/** Waits until the server has told the client about a violation matching `pattern`. */
async function violation(service: NatsService, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = (violations.get(service) ?? []).find((v) => pattern.test(v));
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no violation ${pattern} for ${service}; seen: ${JSON.stringify(violations.get(service))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function recording(id: string): Recording {
  return newRecording({ id, sessionId: 'ses_1', mediaId: 'med_1', container: 'mp4', audioCodec: 'aac', at: new Date() });
}

before(async () => {
  server = await startNatsServer({ serviceUsers: true });
  admin = await connect({ servers: server.url });
  for (const service of ['signaling', 'media', 'recorder'] as const) clients.set(service, await connectAs(service));
});
after(async () => {
  for (const nc of clients.values()) await nc.close();
  await admin.close();
  await server.stop();
});

test('a connection with a wrong password is refused', async () => {
  await assert.rejects(connect({ servers: server.url, user: 'recorder', pass: 'not-the-password', reconnect: false }), /Authorization Violation/i);
});

test('the buckets work as each service uses them', async () => {
  // media creates the sessions bucket and writes a session; signaling reads it
  const sessions = await client('media').jetstream().views.kv(BUCKETS.sessions, { history: 1 });
  await sessions.put('ses_1', encodeJson({ sessionId: 'ses_1' }));
  const read = await client('signaling').jetstream().views.kv(BUCKETS.sessions, { bindOnly: true });
  assert.deepEqual((await read.get('ses_1'))?.json(), { sessionId: 'ses_1' });
  const keys: string[] = [];
  for await (const key of await read.keys()) keys.push(key);
  assert.deepEqual(keys, ['ses_1']);

  // every service opens the catalog and writes the state change it owns
  const bySignaling = await RecordingCatalog.open(client('signaling'), logger);
  const byMedia = await RecordingCatalog.open(client('media'), logger);
  const byRecorder = await RecordingCatalog.open(client('recorder'), logger);
  await bySignaling.create(recording('rec_1'));
  await byMedia.update('rec_1', (r) => ({ ...r, recorderId: 'rcd_1' }));
  await byRecorder.update('rec_1', (r) => ({ ...r, status: 'recording' }));
  assert.equal((await bySignaling.get('rec_1'))?.status, 'recording');
  assert.equal((await bySignaling.list()).length, 1);

  // the recorder uploads a file, signaling downloads and deletes it
  const upload = await openRecordingFiles(client('recorder'), logger);
  await upload.putBlob({ name: 'rec_1' }, new Uint8Array([1, 2, 3]));
  const download = await openRecordingFiles(client('signaling'), logger);
  assert.deepEqual([...((await download.getBlob('rec_1')) ?? [])], [1, 2, 3]);
  // signaling streams downloads with a pull consumer on the object store's stream
  const consumer = await client('signaling')
    .jetstream()
    .consumers.get(`OBJ_${BUCKETS.recordingFiles}`, { filterSubjects: `$O.${BUCKETS.recordingFiles}.C.>` });
  const chunk = await consumer.next({ expires: 5000 });
  assert.ok(chunk, 'a chunk arrives');
  chunk.ack();
  await consumer.delete();
  await download.delete('rec_1');
  assert.equal(await download.getBlob('rec_1'), null);
});

test('a recorder cannot write or read a session', async () => {
  const before = (await (await admin.jetstream().views.kv(BUCKETS.sessions, { bindOnly: true })).get('ses_forged'))?.value;
  assert.equal(before, undefined);
  // the bucket's API is closed to it: neither reads nor writes through the KV client
  const kv = await client('recorder').jetstream().views.kv(BUCKETS.sessions, { bindOnly: true });
  await assert.rejects(kv.get('ses_1'));
  await violation('recorder', /publish to "\$JS\.API\.(DIRECT|STREAM\.MSG)\.GET\.KV_sessions_v1/);
  await assert.rejects(kv.put('ses_forged', encodeJson({ sessionId: 'ses_forged' }), { timeout: 2000 } as never));
  // and a raw write into the bucket's subjects never lands
  client('recorder').publish(`$KV.${BUCKETS.sessions}.ses_forged`, encodeJson({ sessionId: 'ses_forged' }));
  await violation('recorder', /publish to "\$KV\.sessions_v1\.ses_forged"/);
  const stored = await admin.jetstream().views.kv(BUCKETS.sessions, { bindOnly: true });
  assert.equal(await stored.get('ses_forged'), null);
});

test('signaling cannot write a session or purge the catalog', async () => {
  client('signaling').publish(`$KV.${BUCKETS.sessions}.ses_forged2`, encodeJson({ sessionId: 'ses_forged2' }));
  await violation('signaling', /publish to "\$KV\.sessions_v1\.ses_forged2"/);
  const kv = await admin.jetstream().views.kv(BUCKETS.sessions, { bindOnly: true });
  assert.equal(await kv.get('ses_forged2'), null);
  // deleting whole streams is nobody's business
  await assert.rejects(client('signaling').request(`$JS.API.STREAM.DELETE.KV_${BUCKETS.recordings}`, undefined, { timeout: 1000 }));
  await violation('signaling', /publish to "\$JS\.API\.STREAM\.DELETE\.KV_recordings_v1"/);
});

test('only recorders can take recorder.v1.start, and only media can ask it', async () => {
  const Reply = z.object({ by: z.string() });
  // signaling and media try to take the recorders' work: the server refuses both subscriptions
  const bySignaling = client('signaling').subscribe(subjects.recorder.start, { queue: 'recorder-v1' });
  const byMedia = client('media').subscribe(subjects.recorder.start, { queue: 'recorder-v1' });
  await violation('signaling', /subscription to "recorder\.v1\.start/);
  await violation('media', /subscription to "recorder\.v1\.start/);
  await bySignaling.closed.catch(() => undefined);
  await byMedia.closed.catch(() => undefined);
  // nobody took it: media's request finds no responder
  await assert.rejects(client('media').request(subjects.recorder.start, encodeJson({}), { timeout: 2000 }), /503|no responders/i);

  // a recorder answers media's request (a reply to a request it received, not a subject it may publish to)
  const served = client('recorder').subscribe(subjects.recorder.start, {
    queue: 'recorder-v1',
    callback: (_err, msg) => msg.respond(encodeJson({ by: 'recorder' })),
  });
  await client('recorder').flush();
  const reply = await client('media').request(subjects.recorder.start, encodeJson({}), { timeout: 5000 });
  assert.deepEqual(decodeMessage(Reply, reply.data), { by: 'recorder' });

  // signaling may not ask a recorder to start
  await assert.rejects(client('signaling').request(subjects.recorder.start, encodeJson({}), { timeout: 1000 }));
  await violation('signaling', /publish to "recorder\.v1\.start"/);
  served.unsubscribe();
});

test("no service reads another one's replies or forges its events", async () => {
  client('recorder').subscribe(`${natsInboxPrefix('media')}.>`);
  await violation('recorder', /subscription to "_INBOX_media\.>/);
  client('signaling').subscribe('_INBOX.>');
  await violation('signaling', /subscription to "_INBOX\.>/);
  client('recorder').publish(subjects.events.session('ses_1'), encodeJson({ type: 'closed' }));
  await violation('recorder', /publish to "events\.v1\.session\.ses_1"/);
  client('signaling').publish(subjects.events.recording('rec_1'), encodeJson({ type: 'finished' }));
  await violation('signaling', /publish to "events\.v1\.recording\.rec_1"/);
  // a recorder may not answer to someone else's inbox uninvited
  client('recorder').publish(`${natsInboxPrefix('media')}.abc`, encodeJson({ forged: true }));
  await violation('recorder', /publish to "_INBOX_media\.abc"/);
});

test("the services' own request and event paths work", async () => {
  // media answers signaling's ping; media publishes a session event signaling listens to
  const pong = client('media').subscribe(subjects.media.ping, { callback: (_e, msg) => msg.respond(encodeJson({ ok: true })) });
  const events = client('signaling').subscribe(subjects.events.allSessions, { max: 1 });
  await client('media').flush();
  await client('signaling').flush();
  const reply = await client('signaling').request(subjects.media.ping, encodeJson({}), { timeout: 5000 });
  assert.deepEqual(reply.json(), { ok: true });
  client('media').publish(subjects.events.session('ses_1'), encodeJson({ type: 'connected' }));
  for await (const msg of events) assert.equal(msg.subject, 'events.v1.session.ses_1');
  pong.unsubscribe();
  // the recorder publishes its recording events, media hears them
  const recordingEvents = client('media').subscribe(subjects.events.recording('rec_9'), { max: 1 });
  await client('media').flush();
  client('recorder').publish(subjects.events.recording('rec_9'), encodeJson({ type: 'listening' }));
  for await (const msg of recordingEvents) assert.equal(msg.subject, 'events.v1.recording.rec_9');
  assert.deepEqual(
    violations.get('media')?.filter((v) => !/recorder\.v1\.start/.test(v)),
    [],
  );
});
