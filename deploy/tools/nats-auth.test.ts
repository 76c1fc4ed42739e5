import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { natsPermissions } from '@recstack/contracts';
import { deploymentAuthorization, staleNatsAuthFiles, withGeneratedAuthorization } from './nats-auth.js';

const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

test('the committed NATS configurations carry the authorization nats-permissions.ts generates', () => {
  assert.deepEqual(staleNatsAuthFiles(repoRoot), [], 'run `make nats-config` and commit the result');
});

test('the generated region is replaced in place, indented, and the rest of the file is kept', () => {
  const text = [
    'a: 1',
    '  # --- generated from packages/contracts/src/nats-permissions.ts by `make nats-config`; do not edit ---',
    '  stale',
    '  # --- end of generated authorization ---',
    'b: 2',
  ].join('\n');
  const next = withGeneratedAuthorization(text, '  ');
  assert.ok(next.startsWith('a: 1\n'));
  assert.ok(next.endsWith('\nb: 2'));
  assert.ok(!next.includes('stale'));
  assert.ok(next.includes('\n  authorization {\n'));
  assert.throws(() => withGeneratedAuthorization('a: 1', ''), /markers are missing/);
});

test("deployments read each password from its own variable and grant exactly the module's subjects", () => {
  const conf = deploymentAuthorization();
  for (const variable of ['NATS_SIGNALING_PASSWORD', 'NATS_MEDIA_PASSWORD', 'NATS_RECORDER_PASSWORD'])
    assert.ok(conf.includes(`password: $${variable}\n`), variable);
  for (const subject of natsPermissions('recorder').subscribe) assert.ok(conf.includes(JSON.stringify(subject)), subject);
});
