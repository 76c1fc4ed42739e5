import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rpc, rpcSubject, type CreateSessionReply, type MediaPong } from '@recstack/contracts';
import { RemoteError, TimeoutError, UnavailableError, createLogger } from '@recstack/service-kit';
import { MediaPlacement, mediaLoadOf, placementOrder } from './media-placement.js';

const pong = (mediaId: string, extra: Partial<MediaPong> = {}): MediaPong => ({ mediaId, sessions: 0, recordings: 0, capacity: 10, ...extra });

test("an instance's load is its own share, or sessions / capacity from older instances; draining or capacity 0 is full", () => {
  assert.equal(mediaLoadOf(pong('med_a', { sessions: 5 })).load, 0.5);
  assert.equal(mediaLoadOf(pong('med_a', { sessions: 1, load: 0.9 })).load, 0.9);
  assert.equal(mediaLoadOf(pong('med_a', { accepting: false })).load, Infinity);
  assert.equal(mediaLoadOf(pong('med_a', { capacity: 0 })).load, Infinity);
  assert.equal(mediaLoadOf(pong('med_a', { capacity: 4 })).perSession, 0.25);
});

test('the least loaded instance is asked first; full ones last', () => {
  const loads = [
    { mediaId: 'med_a', load: 0.7, perSession: 0.1 },
    { mediaId: 'med_full', load: 1, perSession: 0.1 },
    { mediaId: 'med_b', load: 0.2, perSession: 0.1 },
    { mediaId: 'med_c', load: 0.5, perSession: 0.1 },
  ];
  assert.deepEqual(placementOrder(loads), ['med_b', 'med_c', 'med_a', 'med_full']);
  assert.deepEqual(placementOrder([]), []);
});

test('equals are ordered at random', () => {
  const loads = [
    { mediaId: 'med_a', load: 0.5, perSession: 0.1 },
    { mediaId: 'med_b', load: 0.5, perSession: 0.1 },
  ];
  const values = [0.9, 0.1];
  assert.deepEqual(
    placementOrder(loads, () => values.shift() ?? 0),
    ['med_b', 'med_a'],
  );
});

/** A media client whose instances answer as the test says. */
function fakeClient(pongs: MediaPong[], answer: (mediaId: string) => 'ok' | Error) {
  const asked: string[] = [];
  const reply = (mediaId: string, sessionId: string): CreateSessionReply => ({ sessionId, mediaId, answer: 'v=0', tracks: [] });
  return {
    asked,
    client: {
      ping: async () => pongs,
      createSessionOn: async (mediaId: string, sessionId: string) => {
        asked.push(mediaId);
        const a = answer(mediaId);
        if (a instanceof Error) throw a;
        return reply(mediaId, sessionId);
      },
      createSession: async (sessionId: string) => {
        asked.push('queue');
        return reply('med_queue', sessionId);
      },
    },
  };
}

const logger = createLogger('test', 'silent');
const options = { refreshMs: 60_000, pingWaitMs: 10, maxAttempts: 3 };
const atCapacity = () => new RemoteError({ code: 'AT_CAPACITY', message: 'full' }, rpcSubject(rpc.media.createSessionOn, 'med_x'));

test('placement: a burst spreads by the counted placements; AT_CAPACITY and a gone instance pass to the next', async () => {
  const f = fakeClient([pong('med_a', { sessions: 2, capacity: 4 }), pong('med_b', { sessions: 0, capacity: 4 })], (id) =>
    id === 'med_gone' ? new UnavailableError('MEDIA_UNAVAILABLE', 'no responders') : 'ok',
  );
  const p = new MediaPlacement(f.client, logger, options);
  await p.refresh();
  for (let i = 0; i < 4; i++) await p.createSession(`ses_${i}`, 'offer');
  // b (0/4) takes two before it is as loaded as a (2/4), then they alternate
  assert.equal(f.asked.filter((m) => m === 'med_b').length, 3);
  assert.equal(f.asked.filter((m) => m === 'med_a').length, 1);
  p.close();

  const g = fakeClient([pong('med_a', { load: 0.1 }), pong('med_b', { load: 0.5 })], (id) => (id === 'med_a' ? atCapacity() : 'ok'));
  const q = new MediaPlacement(g.client, logger, options);
  await q.refresh();
  assert.equal((await q.createSession('ses_x', 'offer')).mediaId, 'med_b');
  assert.deepEqual(g.asked, ['med_a', 'med_b']);
  // med_a now counts as full: asked last
  assert.deepEqual(q.candidates(), ['med_b', 'med_a']);
  q.close();

  const h = fakeClient([pong('med_gone', { load: 0 })], () => new UnavailableError('MEDIA_UNAVAILABLE', 'no responders'));
  const r = new MediaPlacement(h.client, logger, options);
  await r.refresh();
  assert.equal((await r.createSession('ses_y', 'offer')).mediaId, 'med_queue');
  assert.deepEqual(h.asked, ['med_gone', 'queue']);
  assert.deepEqual(r.candidates(), []);
  r.close();
});

test('placement: every instance full answers AT_CAPACITY; a timeout is not retried elsewhere; no view uses the queue group', async () => {
  const f = fakeClient([pong('med_a'), pong('med_b'), pong('med_c'), pong('med_d')], () => atCapacity());
  const p = new MediaPlacement(f.client, logger, options);
  await p.refresh();
  await assert.rejects(p.createSession('ses_1', 'offer'), (err: unknown) => err instanceof RemoteError && err.code === 'AT_CAPACITY');
  assert.equal(f.asked.length, options.maxAttempts);
  p.close();

  const g = fakeClient([pong('med_a'), pong('med_b', { sessions: 5 })], () => new TimeoutError('no reply'));
  const q = new MediaPlacement(g.client, logger, options);
  await q.refresh();
  await assert.rejects(q.createSession('ses_2', 'offer'), TimeoutError);
  assert.deepEqual(g.asked, ['med_a']);
  q.close();

  const h = fakeClient([], () => 'ok');
  const r = new MediaPlacement(h.client, logger, options);
  await r.refresh();
  assert.equal((await r.createSession('ses_3', 'offer')).mediaId, 'med_queue');
  r.close();
});

test('an instance missing from one round of pongs stays in the view (with what it last said)', async () => {
  let pongs = [pong('med_a', { load: 0.1 }), pong('med_b', { load: 0.6 })];
  const f = fakeClient([], () => 'ok');
  const client = { ...f.client, ping: async () => pongs };
  const p = new MediaPlacement(client, logger, options);
  await p.refresh();
  pongs = [pong('med_b', { load: 0.5 })];
  await p.refresh();
  assert.deepEqual(p.candidates(), ['med_a', 'med_b']);
  p.close();
});
