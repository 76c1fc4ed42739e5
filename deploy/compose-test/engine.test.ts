import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineToolCandidates } from './engine.js';

test('the container-engine tool is looked for next to the checkout first, then above it, then in the workplace', () => {
  assert.deepEqual(engineToolCandidates('/srv/main', {}), [
    '/srv/shared/tools/container-engine',
    '/shared/tools/container-engine',
    '/work/shared/tools/container-engine',
  ]);
  assert.deepEqual(engineToolCandidates('/tmp/ci/clone', {}), [
    '/tmp/ci/shared/tools/container-engine',
    '/tmp/shared/tools/container-engine',
    '/shared/tools/container-engine',
    '/work/shared/tools/container-engine',
  ]);
});

test('CONTAINER_ENGINE_TOOL comes first', () => {
  assert.equal(engineToolCandidates('/tmp/x', { CONTAINER_ENGINE_TOOL: '/opt/tools/engine' })[0], '/opt/tools/engine');
});
