import { test } from 'node:test';
import assert from 'node:assert/strict';
import Router from '@koa/router';
import { access, assertEveryRouteDeclaresAccess, bearerToken, declaredAccess, principalOf, roleOfToken, tokenMatches } from './auth.js';

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

test('each token grants its role; without any token configured everyone is admin, keyed by address', () => {
  const policy = { tokens: { admin: TOKEN, publish: `${TOKEN}-pub`, view: `${TOKEN}-view` } };
  assert.equal(roleOfToken(policy, TOKEN), 'admin');
  assert.equal(roleOfToken(policy, `${TOKEN}-pub`), 'publish');
  assert.equal(roleOfToken(policy, `${TOKEN}-view`), 'view');
  assert.equal(roleOfToken(policy, 'wrong'), undefined);
  assert.equal(roleOfToken(policy, undefined), undefined);
  assert.deepEqual(principalOf(policy, { authorization: `Bearer ${TOKEN}-pub`, clientAddress: '10.0.0.1' }), { role: 'publish', key: 'token:publish' });
  assert.equal(principalOf(policy, { authorization: undefined, clientAddress: '10.0.0.1' }), undefined);
  assert.equal(principalOf({ tokens: { view: TOKEN } }, { authorization: `Bearer ${TOKEN}x`, clientAddress: '::1' }), undefined);
  assert.deepEqual(principalOf({ tokens: {} }, { authorization: undefined, clientAddress: '::1' }), { role: 'admin', key: 'addr:::1' });
});

test('a route without a declared access makes the app refuse to start', () => {
  const policy = { tokens: { admin: TOKEN } };
  const router = new Router();
  router.get('/open', access(policy, { open: true }), () => undefined);
  router.get('/api/x', access(policy, { roles: ['admin'] }), () => undefined);
  assert.doesNotThrow(() => assertEveryRouteDeclaresAccess(router));
  assert.deepEqual(declaredAccess(router.stack[1] as { stack: unknown[] }), { roles: ['admin'] });
  router.get('/api/forgotten', () => undefined);
  assert.throws(() => assertEveryRouteDeclaresAccess(router), /\/api\/forgotten declares no access/);
});
