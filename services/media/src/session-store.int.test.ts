// The sessions_v1 bucket against a real nats-server: entries live while refreshed, expire when their
// media instance stops refreshing them (it died), and a refresh never brings a removed entry back.
import { test, before, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import type { PublisherSession } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { SessionStore } from './session-store.js';
import { sessionEntry } from './testing/media-harness.js';

let nats: TestNatsServer;
let nc: NatsConnection;
let store: SessionStore;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  store = await SessionStore.open(nc, { ttlMs: 1500 }, createLogger('test', 'silent'));
});

after(async () => {
  store?.stopRefreshing();
  await nc?.close();
  await nats?.stop();
});

const session = (id: string): PublisherSession => ({
  sessionId: id,
  mediaId: 'med_1',
  tracks: [{ kind: 'video', codec: 'vp8' }],
  createdAt: new Date().toISOString(),
});

test('refreshed entries outlive the TTL; removed ones stay removed; unrefreshed ones expire', { timeout: 30_000 }, async () => {
  const live = [session('ses_a'), session('ses_b')];
  for (const s of live) await store.put(s);
  store.startRefreshing(() => live, 400);
  await sleep(3000);
  assert.equal((await sessionEntry(nc, 'ses_a'))?.sessionId, 'ses_a');
  assert.equal((await sessionEntry(nc, 'ses_b'))?.sessionId, 'ses_b');

  // removed while the refresher still lists it (a close racing with a refresh)
  await store.remove('ses_b');
  await sleep(1200);
  assert.equal(await sessionEntry(nc, 'ses_b'), undefined);

  // the instance "dies": nothing refreshes any more
  store.stopRefreshing();
  await sleep(2500);
  assert.equal(await sessionEntry(nc, 'ses_a'), undefined, 'an unrefreshed entry expires with the bucket TTL');
});
