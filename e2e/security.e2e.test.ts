// Issue 8 through the whole stack (nats-server, media with Medooze, a recorder with GStreamer, signaling),
// started with API_TOKEN, PUBLISH_TOKEN and VIEW_TOKEN and Chromium publishing over WHIP: the scoped tokens
// on a real recording, the route-spelling table with real ids, anonymous WebSockets far beyond the default
// budgets not locking out clients with a token, and 5 MB bodies answered 413. Signaling's integration tests
// prove the same rules with stand-ins for media and the recorder; this file proves them on the real stack.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RecordingSchema, type Recording } from '@recstack/contracts';
import { assertNoSpellingServed, launchChromium, probe, publishWhip, sendLargeBody, startStack, type TestBrowser, type TestStack } from '@recstack/testkit';
import { waitFor } from './page-recording.js';

const API_TOKEN = `admin-${randomBytes(16).toString('hex')}`;
const PUBLISH_TOKEN = `publish-${randomBytes(16).toString('hex')}`;
const VIEW_TOKEN = `view-${randomBytes(16).toString('hex')}`;
// short enough for the test to see a real signed URL expire; the rest of the limits are the defaults
const MEDIA_URL_TTL_SECONDS = 10;
// far beyond the default budget of unauthenticated sockets (MAX_WS_UNAUTHENTICATED, 64), and beyond
// MAX_WS_CLIENTS (500), which they all counted against when issue 8 was filed
const ANONYMOUS_SOCKETS = 600;

type RecordingView = Recording & { mediaUrl: string };
const RUNNING: ReadonlyArray<Recording['status']> = ['starting', 'recording'];
type WsMessage = { type: string; recording?: { id: string; status: string }; id?: string };

let stack: TestStack | undefined;
let browser: TestBrowser | undefined;
let scratch: string | undefined;

/** What the tests share, in order: the flood and the watchers (c), the sessions and recordings (b). */
const state: {
  flood?: AnonymousFlood;
  viewer?: EventSocket;
  pageLike?: EventSocket;
  ownSession?: string;
  ownRecording?: RecordingView;
  expiringMediaUrl?: string;
} = {};

before(async () => {
  stack = await startStack({ signalingEnv: { API_TOKEN, PUBLISH_TOKEN, VIEW_TOKEN, MEDIA_URL_TTL_SECONDS: String(MEDIA_URL_TTL_SECONDS) } });
  browser = await launchChromium();
  scratch = await mkdtemp(join(tmpdir(), 'recstack-e2e-security-'));
});

after(async () => {
  state.flood?.stop();
  state.viewer?.close();
  state.pageLike?.close();
  await browser?.close();
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const base = () => {
  assert.ok(stack, 'the stack started');
  return stack.baseUrl;
};

/** A call to the API with one of the tokens (or none). */
function call(token: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${base()}${path}`, { ...init, headers });
}

async function recordingAs(token: string, id: string): Promise<RecordingView> {
  const res = await call(token, `/api/recordings/${id}`);
  assert.equal(res.status, 200, `GET /api/recordings/${id}`);
  const json = (await res.json()) as { mediaUrl: string };
  return { ...RecordingSchema.parse(json), mediaUrl: json.mediaUrl };
}

/** Starts a recording once the session's media flows (a fresh session may still be connecting). */
async function startRecording(token: string, sessionId: string): Promise<RecordingView> {
  return waitFor(
    `a recording of ${sessionId} to start`,
    async () => {
      const res = await call(token, `/api/sessions/${sessionId}/recordings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const text = await res.text();
      if (res.status === 201) {
        const json = JSON.parse(text) as { mediaUrl: string };
        return { ...RecordingSchema.parse(json), mediaUrl: json.mediaUrl };
      }
      assert.ok([409, 422, 503].includes(res.status), `starting a recording of ${sessionId} answered ${res.status}: ${text}`);
      return undefined;
    },
    30_000,
  );
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

async function publishFromPage(token: string): Promise<string> {
  assert.ok(browser);
  const page = await browser.context.newPage();
  await page.goto(`${base()}/healthz`);
  const { sessionId } = await publishWhip(page, { token, videoCodec: 'h264', width: 640, height: 360 });
  return sessionId;
}

test('hundreds of anonymous WebSockets with the default budgets: clients with a token still connect', { timeout: 60_000 }, async () => {
  const flood = new AnonymousFlood(base(), ANONYMOUS_SOCKETS);
  state.flood = flood;
  flood.start();
  await waitFor('every anonymous socket to have been let in once', async () => (flood.everOpened.size === ANONYMOUS_SOCKETS ? true : undefined), 30_000);
  await waitFor('the budget to be full: newcomers evicting the oldest', async () => (flood.closes(1013) > 0 ? true : undefined), 30_000);
  assert.ok(flood.open() < ANONYMOUS_SOCKETS, `the anonymous sockets are held to their budget (${flood.open()} open)`);

  // a client sending its token in the header never needs an anonymous place
  state.viewer = await EventSocket.open(base(), { authorization: `Bearer ${VIEW_TOKEN}` });
  await state.viewer.waitFor((m) => m.some((x) => x.type === 'ready'), 'ready (VIEW_TOKEN in the header)', 10_000);
  // a browser cannot send a header: it takes an anonymous place for a moment and sends the token first
  state.pageLike = await EventSocket.open(base(), {});
  state.pageLike.send({ type: 'auth', token: API_TOKEN });
  await state.pageLike.waitFor((m) => m.some((x) => x.type === 'ready'), 'ready (API_TOKEN as first message)', 10_000);
  // the publisher's token does not read events
  await assert.rejects(EventSocket.open(base(), { authorization: `Bearer ${PUBLISH_TOKEN}` }), (err: { status?: number }) => err.status === 401);
  assert.deepEqual(flood.refusedStatuses(), [], 'one socket per address stays within the per-address limits');
});

test(
  'scoped tokens on a real recording: PUBLISH_TOKEN publishes and records its own session only, VIEW_TOKEN lists and downloads only',
  { timeout: 180_000 },
  async () => {
    assert.ok(scratch && state.viewer && state.pageLike && state.flood);
    const own = await publishFromPage(PUBLISH_TOKEN);
    state.ownSession = own;
    const recording = await startRecording(PUBLISH_TOKEN, own);
    assert.equal(recording.sessionId, own);

    // what the publisher's token cannot do
    for (const [method, path] of [
      ['GET', '/api/recordings'],
      ['GET', `/api/recordings/${recording.id}`],
      ['GET', `/api/recordings/${recording.id}/media`],
      ['DELETE', `/api/recordings/${recording.id}`],
    ] as const) {
      assert.equal((await call(PUBLISH_TOKEN, path, { method })).status, 401, `PUBLISH_TOKEN: ${method} ${path}`);
    }
    // another client's session: the admin publishes and records it
    const others = await publishFromPage(API_TOKEN);
    const othersRecording = await startRecording(API_TOKEN, others);
    const foreignStop = await call(PUBLISH_TOKEN, `/api/recordings/${othersRecording.id}/stop`, { method: 'POST' });
    assert.equal(foreignStop.status, 403);
    assert.equal(await errorCode(foreignStop), 'FORBIDDEN');
    const foreignStart = await call(PUBLISH_TOKEN, `/api/sessions/${others}/recordings`, { method: 'POST' });
    assert.equal(foreignStart.status, 403);
    assert.ok(RUNNING.includes((await recordingAs(API_TOKEN, othersRecording.id)).status), 'the refused stop changed nothing');

    // what the viewer's token cannot do
    for (const [method, path, init] of [
      ['POST', '/whip', { headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' }],
      ['DELETE', `/whip/${own}`],
      ['POST', `/api/sessions/${own}/recordings`],
      ['POST', `/api/recordings/${recording.id}/stop`],
      ['DELETE', `/api/recordings/${recording.id}`],
    ] as const) {
      assert.equal((await call(VIEW_TOKEN, path, { ...init, method })).status, 401, `VIEW_TOKEN: ${method} ${path}`);
    }
    assert.ok(RUNNING.includes((await recordingAs(API_TOKEN, recording.id)).status), 'the refused calls changed nothing');

    await new Promise((r) => setTimeout(r, 4000));
    const stopped = await call(PUBLISH_TOKEN, `/api/recordings/${recording.id}/stop`, { method: 'POST' });
    assert.equal(stopped.status, 200, 'the publisher stops its own recording');
    assert.equal((await call(API_TOKEN, `/api/recordings/${othersRecording.id}/stop`, { method: 'POST' })).status, 200, 'the admin stops any');
    const done = await waitFor(
      'the recording to be finalized',
      async () => {
        const r = await recordingAs(VIEW_TOKEN, recording.id);
        return r.status === 'done' || r.status === 'failed' ? r : undefined;
      },
      90_000,
    );
    assert.equal(done.status, 'done', JSON.stringify(done));
    state.ownRecording = done;

    // the viewer lists it and downloads it through its signed URL: no token in the URL, none in a header
    const listed = await call(VIEW_TOKEN, '/api/recordings');
    assert.equal(listed.status, 200);
    const entry = ((await listed.json()) as RecordingView[]).find((r) => r.id === recording.id);
    assert.ok(entry, 'the viewer lists the recording');
    assert.match(entry.mediaUrl, new RegExp(`^/api/recordings/${recording.id}/media\\?expires=\\d+&sig=[A-Za-z0-9_-]+$`));
    for (const token of [API_TOKEN, PUBLISH_TOKEN, VIEW_TOKEN]) assert.ok(!entry.mediaUrl.includes(token), 'no token in the URL');
    state.expiringMediaUrl = entry.mediaUrl;
    const download = await fetch(`${base()}${entry.mediaUrl}&download=1`);
    assert.equal(download.status, 200, 'the signed URL alone opens the file');
    assert.match(download.headers.get('content-disposition') ?? '', /^attachment/);
    const bytes = Buffer.from(await download.arrayBuffer());
    assert.equal(bytes.length, done.sizeBytes, 'the whole file');
    const path = join(scratch, done.fileName);
    await writeFile(path, bytes);
    const probed = await probe(path);
    assert.deepEqual(probed.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
    assert.ok(probed.durationSec > 2, `a playable file of a few seconds (${probed.durationSec} s)`);

    // a signed URL that was tampered with, or moved to another recording, is refused
    const tampered = entry.mediaUrl.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    assert.equal((await fetch(`${base()}${tampered}`)).status, 401, 'a tampered signature');
    const redated = entry.mediaUrl.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`);
    assert.equal((await fetch(`${base()}${redated}`)).status, 401, 'a later expiry than signed');
    assert.equal((await fetch(`${base()}${entry.mediaUrl.replace(recording.id, othersRecording.id)}`)).status, 401, 'another recording');

    // (c) the clients with a token received the real events of this recording; the anonymous ones nothing
    for (const [name, ws] of [
      ['header', state.viewer],
      ['first message', state.pageLike],
    ] as const) {
      await ws.waitFor(
        (m) => m.some((x) => x.type === 'recording' && x.recording?.id === recording.id && x.recording.status === 'done'),
        `the done event (${name})`,
        30_000,
      );
      assert.ok(ws.messages.some((x) => x.type === 'recording' && x.recording?.id === recording.id && x.recording.status === 'recording'));
    }
    state.flood.stop();
    assert.equal(state.flood.messages, 0, 'the anonymous sockets got nothing');
    assert.ok(state.flood.closes(4401) + state.flood.closes(1013) > ANONYMOUS_SOCKETS, 'they were closed at their deadline or evicted, and came back');
    assert.deepEqual(state.flood.refusedStatuses(), []);
  },
);

test(
  'the route-spelling table on the real stack, with a live session and a finished recording: never served without the right token',
  { timeout: 120_000 },
  async () => {
    assert.ok(state.ownSession && state.ownRecording);
    const doc = (await (await fetch(`${base()}/openapi.json`)).json()) as Record<string, unknown>;
    const ids = { sessionId: state.ownSession, id: state.ownRecording.id };
    // each pass from its own loopback address: signaling's per-address rate limit stays out of the answers
    await assertNoSpellingServed({ baseUrl: base(), doc, ids, localAddress: '127.0.3.1' });
    await assertNoSpellingServed({ baseUrl: base(), doc, ids, headers: { authorization: 'Bearer not-the-token-0123456789' }, localAddress: '127.0.3.2' });
    assert.equal((await call(API_TOKEN, `/api/sessions/${ids.sessionId}`)).status, 200, 'the session is untouched');
    assert.equal((await recordingAs(API_TOKEN, ids.id)).status, 'done', 'the recording is untouched');
  },
);

test(
  'a 5 MB body to /whip or /api/... is answered 413 with the JSON error before the connection closes, even with the token',
  { timeout: 60_000 },
  async () => {
    assert.ok(state.ownSession && state.ownRecording);
    const id = state.ownRecording.id;
    for (const [method, path, contentType] of [
      ['POST', '/whip', 'application/sdp'],
      ['POST', `/api/sessions/${state.ownSession}/recordings`, 'application/json'],
      ['POST', `/api/recordings/${id}/stop`, 'application/json'],
      ['DELETE', `/api/recordings/${id}`, 'application/json'],
    ] as const) {
      const answer = await sendLargeBody(base(), { method, path, contentType, size: 5 * 1024 * 1024, headers: { authorization: `Bearer ${API_TOKEN}` } });
      assert.equal(answer.status, 413, `${method} ${path}: ${answer.head}`);
      assert.equal(answer.error, undefined, `${method} ${path}: the connection was closed after the answer, not reset`);
      assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE', `${method} ${path}`);
    }
    assert.equal((await recordingAs(API_TOKEN, id)).status, 'done', 'the DELETE with a 5 MB body did not delete');
    assert.equal((await fetch(`${base()}/healthz`)).status, 200);
  },
);

test('the admin token deletes; the signed URL has expired by now', { timeout: 60_000 }, async () => {
  assert.ok(state.ownRecording && state.expiringMediaUrl && state.viewer);
  const { id } = state.ownRecording;
  const expires = Number(/expires=(\d+)/.exec(state.expiringMediaUrl)?.[1]);
  const wait = expires * 1000 + 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  assert.equal((await fetch(`${base()}${state.expiringMediaUrl}`)).status, 401, 'an expired signed URL');

  assert.equal((await call(API_TOKEN, `/api/recordings/${id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await call(API_TOKEN, `/api/recordings/${id}`)).status, 404);
  await state.viewer.waitFor((m) => m.some((x) => x.type === 'recording-deleted' && x.id === id), 'the delete event', 15_000);
});

function wsText(data: WebSocket.RawData): string {
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

/** A WebSocket on /ws that keeps every message signaling sends. */
class EventSocket {
  readonly messages: WsMessage[] = [];
  closeCode: number | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(wsText(data)) as WsMessage));
    socket.on('close', (code) => (this.closeCode = code));
    // a failure after the handshake ends in 'close', which waitFor reports
    socket.on('error', () => undefined);
  }

  /** Rejects with the HTTP status when the upgrade is refused. */
  static open(baseUrl: string, headers: Record<string, string>, localAddress?: string): Promise<EventSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers, ...(localAddress ? { localAddress } : {}) });
      socket.once('open', () => resolve(new EventSocket(socket)));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  async waitFor(predicate: (messages: WsMessage[]) => boolean, what: string, timeoutMs: number): Promise<void> {
    await waitFor(
      what,
      async () => {
        if (predicate(this.messages)) return true;
        if (this.closeCode !== undefined) throw new Error(`the socket closed (${this.closeCode}) while waiting for ${what}`);
        return undefined;
      },
      timeoutMs,
    );
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Anonymous WebSockets, one from each of `count` loopback addresses, that never send a token and come back
 * a moment after each close (signaling evicts the oldest when its budget is full and closes the rest at
 * their deadline): the pressure stays on while the test runs.
 */
class AnonymousFlood {
  readonly everOpened = new Set<string>();
  messages = 0;
  private readonly sockets = new Map<string, WebSocket>();
  private readonly closeCodes = new Map<number, number>();
  private readonly refused: number[] = [];
  private stopped = false;

  constructor(
    private readonly baseUrl: string,
    private readonly count: number,
    /** how long a closed socket waits before it comes back: keeps each address well under the upgrade rate limit */
    private readonly comebackMs = 5000,
  ) {}

  start(): void {
    for (let i = 0; i < this.count; i++) this.keep(`127.77.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  }

  open(): number {
    return [...this.sockets.values()].filter((s) => s.readyState === WebSocket.OPEN).length;
  }

  closes(code: number): number {
    return this.closeCodes.get(code) ?? 0;
  }

  refusedStatuses(): number[] {
    return [...this.refused];
  }

  stop(): void {
    this.stopped = true;
    for (const socket of this.sockets.values()) socket.terminate();
    this.sockets.clear();
  }

  private keep(address: string): void {
    if (this.stopped) return;
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/ws`, { localAddress: address });
    this.sockets.set(address, socket);
    const comeBack = () => {
      if (this.sockets.get(address) === socket) this.sockets.delete(address);
      if (!this.stopped) setTimeout(() => this.keep(address), this.comebackMs).unref();
    };
    socket.on('open', () => this.everOpened.add(address));
    socket.on('message', () => this.messages++);
    socket.on('unexpected-response', (_req, res) => {
      this.refused.push(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.on('error', () => undefined);
    socket.on('close', (code) => {
      if (!this.stopped) this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
      comeBack();
    });
  }
}
