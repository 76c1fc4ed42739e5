import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { GAP_KEYFRAME_MIN_INTERVAL_MS, GAP_POLL_MS, GapKeyframeTrigger, GapKeyframeWatch, videoHoldMs, type HoldSample } from './gap-keyframes.js';

test("the hold: Medooze's rule with RTX, media's NACK wait without", () => {
  assert.equal(videoHoldMs(true, 5, 600), 600, 'short RTT: 3 × 200 ms');
  assert.equal(videoHoldMs(true, 220, 600), 660);
  assert.equal(videoHoldMs(true, 400, 600), 750, 'capped at 750 ms');
  assert.equal(videoHoldMs(false, 400, 600), 600);
  assert.equal(videoHoldMs(false, 5, 0), 0);
});

test('trigger: packets repaired within the hold ask for nothing; one released by the hold asks at once', () => {
  const trigger = new GapKeyframeTrigger(1000);
  assert.equal(trigger.observe({ maxWaitedMs: 0, holdMs: 600 }, 0), false);
  assert.equal(trigger.observe({ maxWaitedMs: 60, holdMs: 600 }, 100), false, 'reordered by jitter');
  assert.equal(trigger.observe({ maxWaitedMs: 250, holdMs: 600 }, 200), false, 'repaired after a few NACK rounds');
  assert.equal(trigger.observe({ maxWaitedMs: 601, holdMs: 600 }, 300), true, 'given up');
});

test('trigger: one request outstanding: the same give-up, still in the window, asks again only after the interval', () => {
  const trigger = new GapKeyframeTrigger(1000);
  const given: HoldSample = { maxWaitedMs: 600, holdMs: 600 };
  assert.equal(trigger.observe(given, 10_000), true);
  assert.equal(trigger.observe(given, 10_100), false);
  assert.equal(trigger.observe(given, 10_999), false);
  assert.equal(trigger.observe(given, 11_050), true, 'a give-up still seen after the interval asks again');
});

test('trigger: the last request of a series is followed by one more an interval later, then nothing', () => {
  const trigger = new GapKeyframeTrigger(1000);
  const repaired: HoldSample = { maxWaitedMs: 40, holdMs: 600 };
  assert.equal(trigger.observe({ maxWaitedMs: 600, holdMs: 600 }, 0), true);
  assert.equal(trigger.observe(repaired, 500), false, 'still outstanding');
  assert.equal(trigger.lastWasFollowUp, false);
  assert.equal(trigger.observe(repaired, 1000), true, 'the follow-up: the keyframe may have been skipped or damaged');
  assert.equal(trigger.lastWasFollowUp, true);
  assert.equal(trigger.observe(repaired, 2000), false);
  assert.equal(trigger.observe(repaired, 60_000), false, 'no give-up since: nothing more');
});

test('trigger: an RTT that moved the hold a little still counts; no hold at all never asks', () => {
  const trigger = new GapKeyframeTrigger(1000);
  assert.equal(trigger.observe({ maxWaitedMs: 600, holdMs: 660 }, 0), true);
  const noHold = new GapKeyframeTrigger(1000);
  assert.equal(noHold.observe({ maxWaitedMs: 0, holdMs: 0 }, 0), false, 'without a hold every packet goes at once: nothing to tell');
  assert.equal(noHold.observe({ maxWaitedMs: 5000, holdMs: 0 }, 0), false);
});

test('watch: polls the track, requests within one poll of a give-up, rate-limited, nothing after stop', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let clock = 0;
    let sample: HoldSample | undefined = { maxWaitedMs: 20, holdMs: 600 };
    let sent = 0;
    const requested: HoldSample[] = [];
    const watch = new GapKeyframeWatch({
      probe: () => sample,
      request: () => {
        sent++;
        return true;
      },
      onRequested: (s) => requested.push(s),
      onError: (err) => assert.fail(String(err)),
      now: () => clock,
    });
    const tick = (ms: number) => {
      for (let t = 0; t < ms; t += GAP_POLL_MS) {
        clock += GAP_POLL_MS;
        mock.timers.tick(GAP_POLL_MS);
      }
    };
    watch.start();
    tick(1000);
    assert.equal(sent, 0, 'repaired losses only');
    sample = { maxWaitedMs: 604, holdMs: 600 };
    tick(GAP_POLL_MS);
    assert.equal(sent, 1, 'asked within one poll');
    tick(GAP_KEYFRAME_MIN_INTERVAL_MS - GAP_POLL_MS);
    assert.equal(sent, 1, 'not again while the give-up is still in the window');
    tick(GAP_POLL_MS);
    assert.equal(sent, 2, 'the track still shows a give-up after the interval: a new one');
    sample = { maxWaitedMs: 30, holdMs: 600 };
    tick(GAP_KEYFRAME_MIN_INTERVAL_MS);
    assert.equal(sent, 3, 'the follow-up after the last one');
    tick(5000);
    assert.equal(sent, 3, 'then nothing while nothing is given up');
    sample = undefined;
    tick(5000);
    assert.equal(sent, 3, 'connection closed: nothing to look at');
    assert.equal(watch.requestsSent, 3);
    assert.equal(requested.length, 3);
    sample = { maxWaitedMs: 700, holdMs: 600 };
    watch.stop();
    tick(5000);
    assert.equal(sent, 3, 'stopped');
    watch.start();
    tick(5000);
    assert.equal(sent, 3, 'a stopped watch does not start again');
  } finally {
    mock.timers.reset();
  }
});

test('watch: a request that could not be sent is not counted; a throwing probe is reported and polling goes on', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let clock = 0;
    let fail = true;
    const errors: unknown[] = [];
    let sendable = false;
    const watch = new GapKeyframeWatch({
      probe: () => {
        if (fail) throw new Error('native read failed');
        return { maxWaitedMs: 650, holdMs: 600 };
      },
      request: () => sendable,
      onRequested: () => undefined,
      onError: (err) => errors.push(err),
      now: () => clock,
      minIntervalMs: 500,
    });
    watch.start();
    clock += GAP_POLL_MS;
    mock.timers.tick(GAP_POLL_MS);
    assert.equal(errors.length, 1);
    fail = false;
    clock += GAP_POLL_MS;
    mock.timers.tick(GAP_POLL_MS);
    assert.equal(watch.requestsSent, 0, 'no video to ask: not counted');
    sendable = true;
    clock += 500;
    mock.timers.tick(500);
    assert.equal(watch.requestsSent, 1);
    watch.stop();
  } finally {
    mock.timers.reset();
  }
});
