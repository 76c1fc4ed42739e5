import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@recstack/service-kit';
import { loadConfig } from './config.js';

test('storage, replicas and reconciliation: working defaults', () => {
  const config = loadConfig({});
  assert.equal(config.storage.kind, 'local');
  assert.equal(config.storage.uploadWaitMs, 15_000);
  assert.equal(config.storage.retryMaxMs, 60_000);
  assert.equal(config.kvReplicas, 1);
  assert.deepEqual(config.reconcile, { intervalMs: 30_000, graceMs: 60_000 });
  assert.match(config.recorderId, /^rcd_/);
});

test('STORAGE=nats with a cluster and faster reconciliation', () => {
  const config = loadConfig({
    STORAGE: 'nats',
    NATS_KV_REPLICAS: '3',
    STORAGE_UPLOAD_WAIT_SECONDS: '2.5',
    RECORDER_RECONCILE_INTERVAL_SECONDS: '5',
    RECORDER_RECONCILE_GRACE_SECONDS: '10',
  });
  assert.equal(config.storage.kind, 'nats');
  assert.equal(config.storage.uploadWaitMs, 2500);
  assert.equal(config.kvReplicas, 3);
  assert.deepEqual(config.reconcile, { intervalMs: 5000, graceMs: 10_000 });
});

test('bad storage settings fail at once, naming each variable', () => {
  try {
    loadConfig({ STORAGE: 'disk', NATS_KV_REPLICAS: '0', STORAGE_UPLOAD_WAIT_SECONDS: '-1' });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    for (const name of ['STORAGE', 'NATS_KV_REPLICAS', 'STORAGE_UPLOAD_WAIT_SECONDS']) {
      assert.ok(
        err.problems.some((p) => p.startsWith(`${name}:`)),
        `${name} in ${err.problems.join('; ')}`,
      );
    }
  }
});

test('disk limits: defaults, Kubernetes-style sizes, and a stop floor above the start floor is refused', () => {
  const defaults = loadConfig({});
  assert.deepEqual(defaults.disk, { minFreeBytes: 2 ** 30, stopFreeBytes: 256 * 2 ** 20, maxFileBytes: 16 * 2 ** 30 });
  assert.equal(defaults.storage.maxBytes, 4 * 2 ** 30);
  const sized = loadConfig({ RECORDER_MIN_FREE_BYTES: '2Gi', RECORDER_STOP_FREE_BYTES: '512Mi', RECORDER_MAX_FILE_BYTES: '0', STORAGE_MAX_BYTES: '1048576' });
  assert.deepEqual(sized.disk, { minFreeBytes: 2 * 2 ** 30, stopFreeBytes: 512 * 2 ** 20, maxFileBytes: 0 });
  assert.equal(sized.storage.maxBytes, 2 ** 20);
  for (const bad of [
    { RECORDER_MIN_FREE_BYTES: '10G' },
    { RECORDER_MAX_FILE_BYTES: '-1' },
    { RECORDER_MIN_FREE_BYTES: '100Mi', RECORDER_STOP_FREE_BYTES: '200Mi' },
  ]) {
    try {
      loadConfig(bad);
      assert.fail(`expected a ConfigError for ${JSON.stringify(bad)}`);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
    }
  }
});

test('admission, verification and child priority: defaults from the engine and the machine; overrides checked', () => {
  const config = loadConfig({});
  assert.deepEqual(config.verify, { mode: 'full', concurrency: 1 });
  assert.equal(config.childNice, 5);
  assert.equal(config.jitterMode, 'synced');
  assert.equal(config.admission.maxCpuPercent, 85);
  assert.ok(config.admission.capacityUnits > 0 && config.admission.capacityUnits % 100 === 0, String(config.admission.capacityUnits));
  assert.equal(config.admission.costs.audioAac, 216);
  const ffmpeg = loadConfig({
    RECORDER_ENGINE: 'ffmpeg',
    RECORDER_CAPACITY_UNITS: '5000',
    RECORDER_COSTS: 'aac=400',
    RECORDER_VERIFY: 'keyframes',
    RECORDER_CHILD_NICE: '0',
  });
  assert.equal(ffmpeg.admission.capacityUnits, 5000);
  assert.equal(ffmpeg.admission.costs.audioAac, 400);
  assert.equal(ffmpeg.admission.costs.base, 20, "the FFmpeg engine's own table");
  assert.equal(ffmpeg.verify.mode, 'keyframes');
  assert.equal(ffmpeg.childNice, 0);
  for (const bad of [{ RECORDER_COSTS: 'gpu=3' }, { RECORDER_VERIFY: 'sometimes' }, { RECORDER_MAX_CPU: '0' }, { RECORDER_CHILD_NICE: '20' }]) {
    assert.throws(
      () => loadConfig(bad),
      (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith(`${Object.keys(bad)[0]}:`)),
      JSON.stringify(bad),
    );
  }
});

test('RECORDER_DRAIN: handover with either storage (STORAGE=nats hands the segments over through the object store), finish when set; anything else fails', () => {
  assert.deepEqual(loadConfig({}).drain, { mode: 'handover', handoverWaitMs: 10_000 });
  assert.equal(loadConfig({ STORAGE: 'nats' }).drain.mode, 'handover');
  assert.equal(loadConfig({ STORAGE: 'nats', RECORDER_DRAIN: 'finish' }).drain.mode, 'finish');
  assert.equal(loadConfig({ RECORDER_DRAIN: 'finish', RECORDER_HANDOVER_WAIT_SECONDS: '3' }).drain.mode, 'finish');
  assert.equal(loadConfig({ RECORDER_HANDOVER_WAIT_SECONDS: '3' }).drain.handoverWaitMs, 3000);
  assert.throws(() => loadConfig({ RECORDER_DRAIN: 'later' }), ConfigError);
});
