import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '@recstack/testkit';
import { LOAD_VARIABLES, loadLoadConfig } from './load-config.js';

test('defaults: a local stack, 4 replay H264 publishers at 640x360 ~500 kbit/s for 20 s, fixed mode', () => {
  const c = loadLoadConfig({});
  assert.deepEqual(
    {
      url: c.url,
      publisher: c.publisher,
      mode: c.mode,
      publishers: c.publishers,
      seconds: c.seconds,
      codec: c.codec,
      width: c.width,
      height: c.height,
      kbps: c.kbps,
      recorders: c.recorders,
      step: c.step,
    },
    {
      url: undefined,
      publisher: 'replay',
      mode: 'fixed',
      publishers: 4,
      seconds: 20,
      codec: 'h264',
      width: 640,
      height: 360,
      kbps: 500,
      recorders: 2,
      step: 4,
    },
  );
  assert.equal(c.honourPli, true);
  assert.equal(c.audioCodec, undefined, 'the server chooses the audio');
  assert.equal(loadLoadConfig({ LOAD_AUDIO: 'opus' }).audioCodec, 'opus');
  assert.deepEqual(c.chaos, []);
  assert.deepEqual(c.objectives, { firstKeyframeP95Ms: 1000, stopP95Ms: 2000, durationToleranceSec: 1.5, maxMediaDrops: 0, maxFailed: 0 });
});

test('a target URL, a token, sizes, impairments, objectives and chaos are read; empty variables count as unset', () => {
  const c = loadLoadConfig({
    LOAD_URL: 'http://127.0.0.1:8080/',
    LOAD_TOKEN: 'secret-token-123456',
    LOAD_PUBLISHERS: '120',
    LOAD_RESOLUTION: '1280x720',
    LOAD_RESULT: '',
    LOAD_LOSS: '2',
    LOAD_JITTER_MS: '30',
    LOAD_SLO_STOP_P95_MS: '5000',
    LOAD_MODE: 'find-capacity',
    LOAD_STEP_SECONDS: '20',
    LOAD_ALIGNED: '1',
  });
  assert.equal(c.url, 'http://127.0.0.1:8080');
  assert.equal(c.token, 'secret-token-123456');
  assert.equal(c.publishers, 120);
  assert.deepEqual([c.width, c.height], [1280, 720]);
  assert.equal(c.resultName, 'latest');
  assert.deepEqual(c.impairments, { lossPercent: 2, jitterMs: 30, reorderPercent: 0, bandwidthKbps: 0 });
  assert.equal(c.objectives.stopP95Ms, 5000);
  assert.equal(c.mode, 'find-capacity');
  // aligned publishers must not jump on keyframe requests, or they would not stay aligned
  assert.equal(c.aligned, true);
  assert.equal(c.honourPli, false);
  assert.deepEqual(loadLoadConfig({ LOAD_CHAOS: 'restart-nats@25,kill-recorder@15' }).chaos, [
    { action: 'kill-recorder', atSeconds: 15 },
    { action: 'restart-nats', atSeconds: 25 },
  ]);
});

test('bad settings fail at once, naming the variable', () => {
  assert.throws(() => loadLoadConfig({ LOAD_PUBLISHERS: '0' }), /LOAD_PUBLISHERS/);
  assert.throws(() => loadLoadConfig({ LOAD_URL: 'localhost:8080' }), /LOAD_URL/);
  assert.throws(() => loadLoadConfig({ LOAD_RESOLUTION: '720p' }), /LOAD_RESOLUTION/);
  assert.throws(() => loadLoadConfig({ LOAD_CODEC: 'h265' }), /LOAD_CODEC/);
  assert.throws(() => loadLoadConfig({ LOAD_AUDIO: 'mp3' }), /LOAD_AUDIO/);
  assert.throws(() => loadLoadConfig({ LOAD_CODEC: 'av1' }), /LOAD_CODEC/, 'replay publishers have no AV1');
  assert.doesNotThrow(() => loadLoadConfig({ LOAD_CODEC: 'av1', LOAD_PUBLISHER: 'chromium' }));
  assert.throws(() => loadLoadConfig({ LOAD_SECONDS: '8', LOAD_RAMP_SECONDS: '4' }), /LOAD_RAMP_SECONDS \+ 5/);
  assert.throws(() => loadLoadConfig({ LOAD_MODE: 'find-capacity', LOAD_STEP_SECONDS: '6', LOAD_RAMP_SECONDS: '4' }), /LOAD_STEP_SECONDS/);
  assert.throws(() => loadLoadConfig({ LOAD_LOSS: '2', LOAD_PUBLISHER: 'chromium' }), /LOAD_PUBLISHER=replay/);
  assert.throws(() => loadLoadConfig({ LOAD_CHAOS: 'kill-recorder' }), /LOAD_CHAOS/);
  assert.throws(() => loadLoadConfig({ LOAD_CHAOS: 'reboot@5' }), /LOAD_CHAOS/);
  assert.throws(() => loadLoadConfig({ LOAD_CHAOS: 'kill-recorder@5', LOAD_URL: 'http://127.0.0.1:8080' }), /local stack/);
  assert.throws(() => loadLoadConfig({ LOAD_SHARD_INDEX: '2', LOAD_SHARD_COUNT: '2' }), /LOAD_SHARD_INDEX/);
  assert.throws(() => loadLoadConfig({ LOAD_ALIGNED: 'yes' }), /LOAD_ALIGNED/);
});

test('the compose loadtest service passes every variable the harness reads', async () => {
  const compose = parse(await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: { loadtest: { environment: Record<string, unknown> } } };
  const passed = Object.keys(compose.services.loadtest.environment);
  assert.ok(LOAD_VARIABLES.length > 30 && LOAD_VARIABLES.includes('LOAD_BANDWIDTH_KBPS'));
  assert.deepEqual(
    LOAD_VARIABLES.filter((v) => !passed.includes(v)),
    [],
  );
});
