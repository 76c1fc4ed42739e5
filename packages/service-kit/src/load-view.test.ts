import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '@recstack/testkit';
import { LoadView } from './load-view.js';

interface Peer {
  id: string;
  load: number;
}

/** A view over peers whose answers the test sets before each refresh. */
function view(clock: ManualClock, refreshMs = 1000) {
  let answers: Peer[] | Error = [];
  const errors: unknown[] = [];
  let polls = 0;
  const v = new LoadView<Peer>({
    refreshMs,
    poll: async () => {
      polls++;
      if (answers instanceof Error) throw answers;
      return answers.map((p) => ({ ...p }));
    },
    idOf: (p) => p.id,
    onError: (err) => errors.push(err),
    clock,
  });
  return {
    v,
    errors,
    polls: () => polls,
    answer: (a: Peer[] | Error) => {
      answers = a;
    },
  };
}

const ids = (loads: Peer[]) => loads.map((l) => l.id).sort();

test('holds what the peers answered, replaced by their next answer', async () => {
  const clock = new ManualClock();
  const { v, answer } = view(clock);
  answer([
    { id: 'a', load: 0.5 },
    { id: 'b', load: 0.1 },
  ]);
  await v.refresh();
  assert.deepEqual(ids(v.fresh()), ['a', 'b']);
  assert.equal(v.get('a')?.load, 0.5);
  answer([{ id: 'a', load: 0.2 }]);
  await v.refresh();
  assert.equal(v.get('a')?.load, 0.2);
  assert.equal(v.get('b')?.load, 0.1, 'one missed answer keeps the peer');
});

test('the entries stay mutable until the next answer: placements between refreshes are counted in', async () => {
  const clock = new ManualClock();
  const { v, answer } = view(clock);
  answer([{ id: 'a', load: 0.5 }]);
  await v.refresh();
  const a = v.get('a');
  assert.ok(a);
  a.load += 0.25;
  assert.equal(v.fresh()[0]?.load, 0.75);
  await v.refresh();
  assert.equal(v.get('a')?.load, 0.5);
});

test('a peer silent for more than three refreshes is stale for fresh(), and dropped at the next refresh', async () => {
  const clock = new ManualClock();
  const { v, answer } = view(clock, 1000);
  answer([
    { id: 'a', load: 0 },
    { id: 'b', load: 0 },
  ]);
  await v.refresh();
  answer([{ id: 'a', load: 0 }]);
  await clock.advance(3000);
  assert.deepEqual(ids(v.fresh()), ['a', 'b'], 'three refreshes old is still fresh');
  await clock.advance(1);
  assert.deepEqual(ids(v.fresh()), [], 'nobody refreshed: both are stale');
  assert.ok(v.get('b'), 'stale entries stay until a refresh drops them');
  await v.refresh();
  assert.deepEqual(ids(v.fresh()), ['a']);
  assert.equal(v.get('b'), undefined);
});

test('fresh() leaves out the excluded peer; forget() drops one', async () => {
  const clock = new ManualClock();
  const { v, answer } = view(clock);
  answer([
    { id: 'a', load: 0 },
    { id: 'b', load: 0 },
  ]);
  await v.refresh();
  assert.deepEqual(ids(v.fresh('a')), ['b']);
  v.forget('b');
  assert.deepEqual(ids(v.fresh()), ['a']);
});

test('start() refreshes at once and then every refreshMs, one refresh at a time; close() stops and empties it', async () => {
  const clock = new ManualClock();
  const { v, answer, polls } = view(clock, 1000);
  answer([{ id: 'a', load: 0 }]);
  v.start();
  v.start();
  await clock.advance(0);
  assert.equal(polls(), 1);
  await clock.advance(2500);
  assert.equal(polls(), 3);
  const concurrent = [v.refresh(), v.refresh()];
  await Promise.all(concurrent);
  assert.equal(polls(), 4, 'a refresh under way is shared');
  v.close();
  assert.equal(v.get('a'), undefined);
  await clock.advance(5000);
  assert.equal(polls(), 4);
  assert.equal(clock.pending, 0);
});

test('a failed refresh is reported and keeps the view; after close() it is not reported', async () => {
  const clock = new ManualClock();
  const { v, answer, errors } = view(clock);
  answer([{ id: 'a', load: 0 }]);
  await v.refresh();
  answer(new Error('connection closed'));
  await v.refresh();
  assert.equal(errors.length, 1);
  assert.ok(v.get('a'));
  const late = v.refresh();
  v.close();
  await late;
  assert.equal(errors.length, 1);
});
