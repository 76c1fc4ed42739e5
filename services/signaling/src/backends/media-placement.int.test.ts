// WHIP placement over real NATS: signaling in this process, two fake media instances that answer pings with
// the load the test sets and refuse beyond their capacity, as media does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeMedia } from '../testing/fake-backends.js';
import { TEST_OFFER, client, publish, startHarness, type Harness } from '../testing/harness.js';

let h: Harness;
let second: FakeMedia;
const api = client(() => h.url);

before(async () => {
  h = await startHarness();
  second = await FakeMedia.start(h.testNc, h.catalog, h.logger, 'med_fake2');
});
after(async () => {
  await second?.close();
  await h?.close();
});

const mediaOf = async (sessionId: string) => (await (await api(`/api/sessions/${sessionId}`)).json()) as { mediaId: string };

/** signaling asks for the instances' load every 2 s: after this, its view holds what the fakes now report */
const nextRefresh = () => new Promise((r) => setTimeout(r, 2500));

test('each WHIP session goes to the instance with the most room, by the load in the pongs', async () => {
  h.media.behaviour.load = 0.9;
  second.behaviour.load = 0.1;
  await nextRefresh();
  // the queue group alone would put four in a row on one instance one time in eight
  for (let i = 0; i < 4; i++) assert.equal((await mediaOf(await publish(api))).mediaId, 'med_fake2');

  h.media.behaviour.load = 0.05;
  second.behaviour.load = 0.95;
  await nextRefresh();
  for (let i = 0; i < 4; i++) assert.equal((await mediaOf(await publish(api))).mediaId, 'med_fake1');
});

test('an instance answering AT_CAPACITY is passed over; when every one does, WHIP answers 503 AT_CAPACITY with Retry-After', async () => {
  // the pongs say fake2 is nearly empty, but it holds its maximum: signaling learns it from the refusal
  h.media.behaviour.load = 0.5;
  second.behaviour.load = 0.01;
  second.behaviour.capacity = second.sessions.size;
  await nextRefresh();
  const held = second.sessions.size;
  const sessionId = await publish(api);
  assert.equal((await mediaOf(sessionId)).mediaId, 'med_fake1');
  assert.equal(second.sessions.size, held);

  h.media.behaviour.capacity = h.media.sessions.size;
  const response = await api('/whip', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: TEST_OFFER });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get('retry-after'), '10');
  const body = (await response.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'AT_CAPACITY');
  assert.doesNotMatch(body.error.message, /med_fake/);

  // room again on one of them: accepted
  second.behaviour.capacity = second.sessions.size + 1;
  const again = await publish(api);
  assert.equal((await mediaOf(again)).mediaId, 'med_fake2');
});
