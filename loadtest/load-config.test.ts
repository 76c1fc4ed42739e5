import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLoadConfig } from './load-config.js';

test('defaults: a local stack, 4 H264 publishers at 640x360 for 20 s', () => {
  const c = loadLoadConfig({});
  assert.deepEqual(
    { url: c.url, publishers: c.publishers, seconds: c.seconds, codec: c.codec, width: c.width, height: c.height, recorders: c.recorders },
    { url: undefined, publishers: 4, seconds: 20, codec: 'h264', width: 640, height: 360, recorders: 2 },
  );
});

test('a target URL, a token and the sizes are read; empty variables count as unset', () => {
  const c = loadLoadConfig({ LOAD_URL: 'http://127.0.0.1:8080/', LOAD_TOKEN: 'secret-token-123456', LOAD_PUBLISHERS: '12', LOAD_RESOLUTION: '1280x720', LOAD_RESULT: '' });
  assert.equal(c.url, 'http://127.0.0.1:8080');
  assert.equal(c.token, 'secret-token-123456');
  assert.equal(c.publishers, 12);
  assert.deepEqual([c.width, c.height], [1280, 720]);
  assert.equal(c.resultFile, 'latest.md');
});

test('bad settings fail at once, naming the variable', () => {
  assert.throws(() => loadLoadConfig({ LOAD_PUBLISHERS: '0' }), /LOAD_PUBLISHERS/);
  assert.throws(() => loadLoadConfig({ LOAD_URL: 'localhost:8080' }), /LOAD_URL/);
  assert.throws(() => loadLoadConfig({ LOAD_RESOLUTION: '720p' }), /LOAD_RESOLUTION/);
  assert.throws(() => loadLoadConfig({ LOAD_CODEC: 'h265' }), /LOAD_CODEC/);
  assert.throws(() => loadLoadConfig({ LOAD_SECONDS: '8', LOAD_RAMP_SECONDS: '4' }), /LOAD_RAMP_SECONDS \+ 5/);
});
