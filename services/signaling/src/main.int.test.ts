import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, freeTcpPort, startNatsServer, startService, type TestNatsServer } from '@recstack/testkit';

/** signaling as the real process main.ts starts: ready line, loopback rule, clean SIGTERM, config errors. */

let nats: TestNatsServer;
let dir: string;

before(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'recstack-signaling-main-'));
});
after(async () => {
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
});

test('starts, says it is ready, keeps to loopback without a token, and stops cleanly on SIGTERM', async () => {
  const port = await freeTcpPort();
  const service = await startService('signaling', { NATS_URL: nats.url, HTTP_HOST: '0.0.0.0', HTTP_PORT: String(port), RECORDINGS_DIR: dir });
  try {
    const warning = await service.waitForLog((l) => l.msg === 'no token set: listening on loopback only, answering loopback Host names and ALLOWED_HOSTS');
    assert.equal(warning.level, 'warn');
    assert.equal(warning.host, '127.0.0.1');
    const ready = await service.waitForLog((l) => l.msg === 'service ready');
    assert.equal(ready.url, `http://127.0.0.1:${port}`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(readyz.status, 200, 'ready means NATS answers: no media or recorder runs, and the page and downloads still work');
    const body = (await readyz.json()) as { checks: unknown; backends: { media: { instances: number }; recorders: { instances: number } } };
    assert.deepEqual(body.checks, { nats: true, media: 0, recorders: 0 });
    assert.equal(body.backends.media.instances, 0);
    assert.equal(body.backends.recorders.instances, 0);
  } finally {
    const exit = await service.stop('SIGTERM', 20_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(service.logs.some((l) => l.msg === 'shutdown complete'));
  }
});

test('with a token it binds the address asked for and does not warn', async () => {
  const port = await freeTcpPort();
  const service = await startService('signaling', {
    NATS_URL: nats.url,
    HTTP_HOST: '0.0.0.0',
    HTTP_PORT: String(port),
    RECORDINGS_DIR: dir,
    API_TOKEN: 'process-test-token-0123456789',
  });
  try {
    const ready = await service.waitForLog((l) => l.msg === 'service ready');
    assert.equal(ready.url, `http://0.0.0.0:${port}`);
    assert.equal(ready.auth, true);
    assert.ok(!service.logs.some((l) => String(l.msg).startsWith('no token set')));
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/recordings`)).status, 401);
  } finally {
    assert.equal((await service.stop()).code, 0);
  }
});

test('a bad configuration stops the start with a message naming the variable', async () => {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(REPO_ROOT, 'services/signaling/src/main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, NATS_URL: nats.url, HTTP_PORT: 'not-a-port', API_TOKEN: 'short' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(output, /service failed to start/);
  assert.match(output, /HTTP_PORT/);
  assert.match(output, /API_TOKEN: must be at least 16 characters/);
  assert.doesNotMatch(output, /"short"/, 'the secret itself is not printed');
});
