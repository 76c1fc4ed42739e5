import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

// The harness end to end at its smallest: it starts its own stack, two Chromium publishers record, and
// the report says both files were checked. Keeps `make load` from rotting; its figures are not judged.
test('make load with two publishers: both recordings come out right and the report says so', { timeout: 240_000 }, async () => {
  const result = join(HERE, 'results', `e2e-${process.pid}.md`);
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(HERE, 'main.ts')], {
    env: { ...process.env, LOAD_URL: '', LOAD_PUBLISHERS: '2', LOAD_SECONDS: '6', LOAD_RAMP_SECONDS: '1', LOAD_RESULT: `e2e-${process.pid}.md` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    assert.equal(code, 0, output.slice(-3000));
    const report = await readFile(result, 'utf8');
    assert.match(report, /\| recordings right \(done, downloaded, every file check passed\) \| 2 of 2 \|/);
    assert.match(report, /start request → first keyframe written, ms \(p50 \/ p95 \/ max\) \| \d+ \/ \d+ \/ \d+ \|/);
    for (const row of ['signaling', 'media', 'recorder 1', 'generator']) assert.match(report, new RegExp(`^\\| ${row} \\| [\\d.]+ \\| \\d+ \\|$`, 'm'), `a usage row for ${row}`);
  } finally {
    await rm(result, { force: true });
  }
});
