import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress } from './client-address.js';

test('the client is the X-Forwarded-For entry as many hops from the right as there are trusted proxies', () => {
  assert.equal(clientAddress('10.0.0.9', '6.6.6.6, 1.2.3.4', 0), '10.0.0.9', 'no proxy trusted: the header is ignored');
  assert.equal(clientAddress('10.0.0.9', '6.6.6.6, 1.2.3.4', 1), '1.2.3.4', 'what the client wrote (left) does not count');
  assert.equal(clientAddress('10.0.0.9', '6.6.6.6, 1.2.3.4, 10.0.0.8', 2), '1.2.3.4');
  assert.equal(clientAddress('10.0.0.9', ['6.6.6.6', '1.2.3.4'], 1), '1.2.3.4', 'repeated headers are one list');
  assert.equal(clientAddress('10.0.0.9', '1.2.3.4', 2), '10.0.0.9', 'fewer entries than proxies: the peer');
  assert.equal(clientAddress('10.0.0.9', undefined, 1), '10.0.0.9');
  assert.equal(clientAddress('10.0.0.9', ' , ', 1), '10.0.0.9');
});
