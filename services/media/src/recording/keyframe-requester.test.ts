import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { KeyframeRequester } from './keyframe-requester.js';

test('keyframe requester: one request at once, then one per interval, none after stop', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let sent = 0;
    const requester = new KeyframeRequester(() => sent++, 500);
    requester.start();
    assert.equal(sent, 1);
    mock.timers.tick(499);
    assert.equal(sent, 1);
    mock.timers.tick(1);
    assert.equal(sent, 2);
    mock.timers.tick(1000);
    assert.equal(sent, 4);
    assert.equal(requester.requestsSent, 4);
    requester.stop();
    mock.timers.tick(5000);
    assert.equal(sent, 4);
    requester.start();
    assert.equal(sent, 4, 'a stopped requester does not start again');
  } finally {
    mock.timers.reset();
  }
});

test('keyframe requester: a failing request is reported and does not stop the next ones', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const errors: unknown[] = [];
    let calls = 0;
    const requester = new KeyframeRequester(
      () => {
        calls++;
        if (calls === 1) throw new Error('track gone');
      },
      100,
      (err) => errors.push(err),
    );
    requester.start();
    mock.timers.tick(100);
    assert.equal(calls, 2);
    assert.equal(errors.length, 1);
    assert.equal(requester.requestsSent, 1);
    requester.stop();
  } finally {
    mock.timers.reset();
  }
});
