import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCanonicalPath } from './canonical-path.js';

test('paths with empty or dot segments are not canonical, plain or encoded', () => {
  for (const path of ['/', '/api/recordings', '/whip/ses_1', '/app.js', '/api/recordings/rec_1/media']) assert.equal(isCanonicalPath(path), true, path);
  for (const path of [
    '//api',
    '/api/',
    '/api//recordings',
    '/whip/.',
    '/whip/..',
    '/api/./recordings',
    '/x/../api',
    '/api/%2e/x',
    '/api/%2E%2E/x',
    '/api/.%2e',
    'api',
    '',
  ]) {
    assert.equal(isCanonicalPath(path), false, path);
  }
});
