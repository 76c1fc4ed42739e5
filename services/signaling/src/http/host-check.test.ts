import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostAllowed, hostName } from './host-check.js';

test('loopback names with any port, and listed names, are allowed; anything else is not', () => {
  for (const host of ['localhost', 'localhost:8080', '127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:8080', 'LocalHost:1'])
    assert.equal(hostAllowed(host, []), true, host);
  for (const host of [
    undefined,
    '',
    'evil.example',
    'evil.example:8080',
    '127.0.0.1.evil.example',
    'localhost.evil.example',
    '10.0.0.1',
    'localhost:8080@evil',
    '[::2]',
  ]) {
    assert.equal(hostAllowed(host, []), false, String(host));
  }
  assert.equal(hostAllowed('rec.lan:8080', ['rec.lan']), true);
  assert.equal(hostAllowed('REC.lan', ['rec.lan']), true);
  assert.equal(hostName('[::1]:80'), '[::1]');
});
