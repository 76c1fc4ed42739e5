import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsQueryToken, bearerToken, isAuthorized, requiresAuth, tokenMatches } from './auth.js';

const TOKEN = 'secret-token-0123456789';

test('bearer tokens are read from the Authorization header', () => {
  assert.equal(bearerToken(`Bearer ${TOKEN}`), TOKEN);
  assert.equal(bearerToken(`bearer   ${TOKEN}`), TOKEN);
  assert.equal(bearerToken(`Basic ${TOKEN}`), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('tokens compare exactly', () => {
  assert.equal(tokenMatches(TOKEN, TOKEN), true);
  assert.equal(tokenMatches(`${TOKEN}x`, TOKEN), false);
  assert.equal(tokenMatches(TOKEN.slice(1), TOKEN), false);
  assert.equal(tokenMatches('', TOKEN), false);
  assert.equal(tokenMatches(undefined, TOKEN), false);
});

test('the API, WHIP and the WebSocket need the token; the page, health, metrics and the document do not', () => {
  for (const path of ['/whip', '/whip/ses_1', '/api/recordings', '/api/sessions/ses_1/recordings', '/ws']) assert.equal(requiresAuth(path), true, path);
  for (const path of ['/', '/index.html', '/app.js', '/healthz', '/readyz', '/metrics', '/openapi.json', '/whipx', '/apix']) assert.equal(requiresAuth(path), false, path);
});

test('a query token is accepted only where a browser cannot send a header, and only for reads', () => {
  assert.equal(acceptsQueryToken('GET', '/api/recordings/rec_1/media'), true);
  assert.equal(acceptsQueryToken('HEAD', '/api/recordings/rec_1/media'), true);
  assert.equal(acceptsQueryToken('GET', '/ws'), true);
  assert.equal(acceptsQueryToken('DELETE', '/api/recordings/rec_1/media'), false);
  assert.equal(acceptsQueryToken('GET', '/api/recordings'), false);
  assert.equal(acceptsQueryToken('POST', '/whip'), false);
});

test('authorization decisions', () => {
  const policy = { token: TOKEN };
  assert.equal(isAuthorized({ token: undefined }, { method: 'POST', path: '/whip' }), true, 'no token configured');
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/healthz' }), true);
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/api/recordings' }), false);
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/api/recordings', authorization: `Bearer ${TOKEN}` }), true);
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/api/recordings', authorization: 'Bearer wrong' }), false);
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/api/recordings', queryToken: TOKEN }), false);
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/api/recordings/rec_1/media', queryToken: TOKEN }), true);
  assert.equal(isAuthorized(policy, { method: 'GET', path: '/api/recordings/rec_1/media', queryToken: 'wrong' }), false);
  assert.equal(
    isAuthorized(policy, { method: 'GET', path: '/api/recordings/rec_1/media', authorization: 'Bearer wrong', queryToken: TOKEN }),
    false,
    'a wrong header is not rescued by the query',
  );
});
