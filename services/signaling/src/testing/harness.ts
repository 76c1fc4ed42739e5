import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { RecordingCatalog } from '@recstack/catalog';
import { createLogger, type Logger } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { loadConfig } from '../config.js';
import { startSignaling, type Signaling } from '../signaling.js';
import { FakeMedia, FakeRecorder } from './fake-backends.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface Harness {
  nats: TestNatsServer;
  /** the connection signaling uses */
  nc: NatsConnection;
  /** a second connection for the fakes and for tests poking at NATS directly */
  testNc: NatsConnection;
  catalog: RecordingCatalog;
  media: FakeMedia;
  recorder: FakeRecorder;
  recordingsDir: string;
  signaling: Signaling;
  url: string;
  logger: Logger;
  /** starts signaling again with other settings (same NATS, fakes and folder) */
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real nats-server, signaling in this process, and the media/recorder test responders. Logs are
 * silent unless TEST_ECHO_LOGS=1.
 */
export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const logger = createLogger('signaling-test', process.env.TEST_ECHO_LOGS === '1' ? 'debug' : 'silent');
  const nats = await startNatsServer();
  const recordingsDir = await mkdtemp(join(tmpdir(), 'recstack-signaling-'));
  const nc = await connect({ servers: nats.url });
  const testNc = await connect({ servers: nats.url });
  const catalog = await RecordingCatalog.open(testNc, logger);
  const media = await FakeMedia.start(testNc, catalog, logger);
  const recorder = new FakeRecorder(testNc, catalog, recordingsDir, logger);
  const baseEnv = {
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    RECORDINGS_DIR: recordingsDir,
    RATE_LIMIT_PER_MINUTE: '0',
    MAX_SESSIONS_PER_CLIENT: '1000',
    NATS_REQUEST_TIMEOUT_SECONDS: '3',
    RECORDING_START_WAIT_SECONDS: '3',
    RECORDING_STOP_WAIT_SECONDS: '2',
  };
  const start = (extra: Record<string, string>) => startSignaling(loadConfig({ ...baseEnv, ...extra }), nc, logger);
  const harness: Harness = {
    nats,
    nc,
    testNc,
    catalog,
    media,
    recorder,
    recordingsDir,
    signaling: await start(env),
    url: '',
    logger,
    restart: async (extra = {}) => {
      await harness.signaling.close(2000);
      harness.signaling = await start(extra);
      harness.url = harness.signaling.url;
    },
    close: async () => {
      await harness.signaling.close(2000);
      await media.close();
      await recorder.close();
      await nc.close();
      await testNc.close();
      await nats.stop();
      await rm(recordingsDir, { recursive: true, force: true });
    },
  };
  harness.url = harness.signaling.url;
  return harness;
}

/** A minimal offer as a browser would send it, enough for the fake media (which needs an rtpmap). */
export const TEST_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  '',
].join('\r\n');

export interface Client {
  (path: string, init?: RequestInit & { token?: string }): Promise<Response>;
}

/** fetch against signaling with an optional bearer token. */
export function client(base: () => string, defaultToken?: string): Client {
  return (path, init = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token ?? defaultToken;
    if (token !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return fetch(`${base()}${path}`, { ...init, headers });
  };
}

/** POST /whip with the test offer; returns the session id from Location. */
export async function publish(api: Client, offer = TEST_OFFER): Promise<string> {
  const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: offer });
  if (response.status !== 201) throw new Error(`POST /whip answered ${response.status}: ${await response.text()}`);
  const location = response.headers.get('location') ?? '';
  const id = /^\/whip\/([A-Za-z0-9_-]+)$/.exec(location)?.[1];
  if (!id) throw new Error(`unexpected Location ${location}`);
  return id;
}

export async function waitUntil<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
