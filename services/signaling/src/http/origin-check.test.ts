import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sameOrigin } from './origin-check.js';

test('requests from our own page or without Origin pass; other sites do not', () => {
  assert.equal(sameOrigin(undefined, '127.0.0.1:8080'), true, 'curl, OBS, server-side clients');
  assert.equal(sameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080'), true);
  assert.equal(sameOrigin('http://localhost:8080', '127.0.0.1:8080'), false);
  assert.equal(sameOrigin('https://evil.example', '127.0.0.1:8080'), false);
  assert.equal(sameOrigin('null', '127.0.0.1:8080'), false);
  assert.equal(sameOrigin('http://127.0.0.1:8080', undefined), false);
});
