import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@recstack/service-kit';
import { loadConfig } from './config.js';

test('defaults work without any environment', () => {
  const config = loadConfig({});
  assert.equal(config.http.host, '127.0.0.1');
  assert.equal(config.http.port, 8080);
  assert.deepEqual(config.nats.servers, ['nats://127.0.0.1:4222']);
  assert.deepEqual(config.tokens, { admin: undefined, publish: undefined, view: undefined });
  assert.equal(config.http.proxyHops, 0);
  assert.equal(config.webhook, undefined);
  assert.equal(config.limits.sdpBytes, 64 * 1024);
  assert.match(config.recordingsDir, /recordings$/);
});

test('without a token a public HTTP_HOST is narrowed to loopback, unless explicitly allowed', () => {
  const narrowed = loadConfig({ HTTP_HOST: '0.0.0.0' });
  assert.equal(narrowed.http.host, '127.0.0.1');
  assert.equal(narrowed.http.narrowedToLoopback, true);
  const token = 'a-token-of-enough-length';
  assert.equal(loadConfig({ HTTP_HOST: '0.0.0.0', API_TOKEN: token }).http.host, '0.0.0.0');
  assert.equal(loadConfig({ HTTP_HOST: '0.0.0.0', ALLOW_REMOTE_WITHOUT_TOKEN: 'true' }).http.host, '0.0.0.0');
  assert.equal(loadConfig({ HTTP_HOST: '::1' }).http.host, '::1');
});

test('webhook settings, with the secret optional', () => {
  const config = loadConfig({ WEBHOOK_URL: 'http://127.0.0.1:9999/hook', WEBHOOK_SECRET: 'whsec-0123456789abcdef', WEBHOOK_MAX_ATTEMPTS: '3' });
  assert.equal(config.webhook?.url, 'http://127.0.0.1:9999/hook');
  assert.equal(config.webhook?.secret, 'whsec-0123456789abcdef');
  assert.equal(config.webhook?.maxAttempts, 3);
});

test('bad values fail at once, naming every variable', () => {
  assert.throws(
    () => loadConfig({ HTTP_PORT: 'eighty', API_TOKEN: 'short', WEBHOOK_URL: 'ftp://x', MAX_SDP_BYTES: String(10 * 1024 * 1024) }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      for (const name of ['HTTP_PORT', 'API_TOKEN', 'WEBHOOK_URL', 'MAX_SDP_BYTES']) assert.match(err.message, new RegExp(name));
      assert.doesNotMatch(err.message, /short/, 'the token value itself is not echoed');
      return true;
    },
  );
});

test('STORAGE and NATS_KV_REPLICAS: local and 1 by default, validated', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.storage, 'local');
  assert.equal(defaults.kvReplicas, 1);
  const cluster = loadConfig({ STORAGE: 'nats', NATS_KV_REPLICAS: '3' });
  assert.equal(cluster.storage, 'nats');
  assert.equal(cluster.kvReplicas, 3);
  assert.throws(
    () => loadConfig({ STORAGE: 's3' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('STORAGE:')),
  );
  assert.throws(
    () => loadConfig({ NATS_KV_REPLICAS: '0' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('NATS_KV_REPLICAS:')),
  );
});

test('TRUST_PROXY_HOPS, with the old TRUST_PROXY=true read as one hop', () => {
  assert.equal(loadConfig({ TRUST_PROXY_HOPS: '2' }).http.proxyHops, 2);
  assert.equal(loadConfig({ TRUST_PROXY: 'true' }).http.proxyHops, 1);
  assert.throws(
    () => loadConfig({ TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '2' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('TRUST_PROXY:')),
  );
  assert.throws(() => loadConfig({ TRUST_PROXY_HOPS: '-1' }), ConfigError);
});

test('scoped tokens: each its own, any of them turns authentication on', () => {
  const config = loadConfig({ HTTP_HOST: '0.0.0.0', PUBLISH_TOKEN: 'publish-token-0123456789', VIEW_TOKEN: 'view-token-0123456789ab' });
  assert.equal(config.http.host, '0.0.0.0', 'a token set: not narrowed');
  assert.equal(config.tokens.publish, 'publish-token-0123456789');
  assert.throws(
    () => loadConfig({ API_TOKEN: 'same-token-0123456789ab', VIEW_TOKEN: 'same-token-0123456789ab' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('VIEW_TOKEN:')) && !err.message.includes('same-token'),
  );
  assert.equal(loadConfig({}).mediaUrls.ttlMs, 15 * 60_000);
  assert.deepEqual(loadConfig({ ALLOWED_HOSTS: 'Rec.LAN, box.local ,' }).http.allowedHosts, ['rec.lan', 'box.local']);
});
