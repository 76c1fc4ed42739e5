import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@recstack/service-kit';
import { loadConfig } from './config.js';

test('config: defaults work, problems are reported by variable name', () => {
  const config = loadConfig({});
  assert.match(config.mediaId, /^med_[a-z0-9]{16}$/);
  assert.deepEqual(config.udpPorts, { min: 40000, max: 40200 });
  assert.deepEqual(config.recorderPorts, { min: 50000, max: 50999 });
  assert.equal(config.maxSessions, 50);
  assert.equal(config.keyframeIntervalMs, 500);
  assert.equal(config.shutdownTimeoutMs, 30_000);
  assert.deepEqual(config.nats.servers, ['nats://127.0.0.1:4222']);
  assert.equal(loadConfig({ MEDIA_ID: 'med_fixed', NATS_URL: 'nats://a:1,nats://b:2' }).mediaId, 'med_fixed');

  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.join('\n');
    }
    return '';
  };
  assert.match(problems({ MEDIA_UDP_PORT_MIN: '40000', MEDIA_UDP_PORT_MAX: '40010' }), /MEDIA_UDP_PORT_MAX.*at least 50/);
  assert.match(problems({ RECORDER_PORT_MIN: '40050', RECORDER_PORT_MAX: '40200' }), /RECORDER_PORT_MIN.*overlap/);
  assert.match(problems({ RECORDER_PORT_MIN: '50001', RECORDER_PORT_MAX: '50001' }), /RECORDER_PORT_MAX/);
  assert.match(problems({ MEDIA_PUBLIC_IP: 'example.com' }), /MEDIA_PUBLIC_IP/);
  assert.match(problems({ MEDIA_ID: 'a.b' }), /MEDIA_ID/);
  assert.match(problems({ MAX_SESSIONS: '0', KEYFRAME_INTERVAL_MS: 'x' }), /MAX_SESSIONS[\s\S]*KEYFRAME_INTERVAL_MS/);
});

test('config: NATS_KV_REPLICAS is 1 by default, 1-5', () => {
  assert.equal(loadConfig({}).kvReplicas, 1);
  assert.equal(loadConfig({ NATS_KV_REPLICAS: '3' }).kvReplicas, 3);
  assert.throws(
    () => loadConfig({ NATS_KV_REPLICAS: '7' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('NATS_KV_REPLICAS:')),
  );
});

test('config: RECORDER_LOST_WAIT_SECONDS is 20 by default, 0-600 (0: a lost recording ends at once)', () => {
  assert.equal(loadConfig({}).recorderLostWaitMs, 20_000);
  assert.equal(loadConfig({ RECORDER_LOST_WAIT_SECONDS: '0' }).recorderLostWaitMs, 0);
  assert.throws(
    () => loadConfig({ RECORDER_LOST_WAIT_SECONDS: '-1' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('RECORDER_LOST_WAIT_SECONDS:')),
  );
});

test('config: MEDIA_NACK_WAIT_MS is 600 by default, 0-5000', () => {
  assert.equal(loadConfig({}).nackWaitMs, 600);
  assert.equal(loadConfig({ MEDIA_NACK_WAIT_MS: '0' }).nackWaitMs, 0);
  assert.throws(
    () => loadConfig({ MEDIA_NACK_WAIT_MS: '9000' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('MEDIA_NACK_WAIT_MS:')),
  );
});

test('config: MEDIA_ENDPOINTS is one per core by default and needs a port each; the ingest limits are off by default', async () => {
  const { availableParallelism } = await import('node:os');
  const config = loadConfig({});
  assert.equal(config.endpoints, availableParallelism());
  assert.equal(config.maxPacketsPerSecond, 0);
  assert.equal(config.maxCpuPercent, 0);
  const set = loadConfig({ MEDIA_ENDPOINTS: '4', MEDIA_MAX_PPS: '30000', MEDIA_MAX_CPU: '85' });
  assert.deepEqual([set.endpoints, set.maxPacketsPerSecond, set.maxCpuPercent], [4, 30000, 85]);
  const fails = (env: Record<string, string>, variable: string) =>
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith(`${variable}:`)),
    );
  fails({ MEDIA_ENDPOINTS: '0' }, 'MEDIA_ENDPOINTS');
  fails({ MEDIA_ENDPOINTS: '60', MEDIA_UDP_PORT_MIN: '40000', MEDIA_UDP_PORT_MAX: '40050' }, 'MEDIA_ENDPOINTS');
  fails({ MEDIA_MAX_CPU: '101' }, 'MEDIA_MAX_CPU');
});

test('config: RECORDER_ALLOWED_NETWORKS defaults to loopback and private ranges; a bad network fails the start', () => {
  const networks = loadConfig({}).recorderNetworks;
  assert.equal(networks.allows('127.0.0.1'), true);
  assert.equal(networks.allows('10.2.3.4'), true);
  assert.equal(networks.allows('8.8.8.8'), false);
  const own = loadConfig({ RECORDER_ALLOWED_NETWORKS: '100.64.0.0/10' }).recorderNetworks;
  assert.equal(own.allows('100.64.1.1'), true);
  assert.equal(own.allows('10.2.3.4'), false);
  assert.throws(
    () => loadConfig({ RECORDER_ALLOWED_NETWORKS: '10.0.0.0/8,10.0.0.0/40' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('RECORDER_ALLOWED_NETWORKS:') && p.includes('10.0.0.0/40')),
  );
});

test('config: media keeps its NATS inboxes under its own prefix (its NATS user may read only those)', () => {
  assert.equal(loadConfig({}).nats.inboxPrefix, '_INBOX_media');
});
