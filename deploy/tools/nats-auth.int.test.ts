import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, Events } from 'nats';
import { NATS_SERVICES, natsInboxPrefix, natsPasswordVariable, subjects } from '@recstack/contracts';
import { freeTcpPort } from '@recstack/testkit';

const repoRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

// docker-compose.yml's nats-server configuration as committed, passwords from the environment as compose
// passes them: every service logs in with its own, and is held to its permissions.
test('deploy/nats/nats.conf: each service logs in with its password from the environment and is held to its subjects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'recstack-nats-conf-'));
  const port = await freeTcpPort();
  const conf = readFileSync(join(repoRoot, 'deploy/nats/nats.conf'), 'utf8').replace('store_dir: /data', `store_dir: ${JSON.stringify(dir)}`);
  writeFileSync(join(dir, 'nats.conf'), conf);
  const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, `p${randomBytes(24).toString('hex')}`]));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...Object.fromEntries(NATS_SERVICES.map((s) => [natsPasswordVariable(s), passwords[s] ?? ''])) };
  let output = '';
  const server = spawn('nats-server', ['-c', join(dir, 'nats.conf'), '-a', '127.0.0.1', '-p', String(port), '-m', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d: Buffer) => (output += d.toString()));
  server.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    const deadline = Date.now() + 10_000;
    while (!output.includes('Server is ready')) {
      assert.ok(Date.now() < deadline && server.exitCode === null, `nats-server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await assert.rejects(connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false }), /Authorization Violation/i, 'no anonymous access');
    for (const service of NATS_SERVICES) {
      const nc = await connect({
        servers: `nats://127.0.0.1:${port}`,
        user: service,
        pass: passwords[service],
        inboxPrefix: natsInboxPrefix(service),
        reconnect: false,
      });
      const refused: string[] = [];
      void (async () => {
        for await (const s of nc.status()) {
          const context = (s as { permissionContext?: { subject: string } }).permissionContext;
          if (s.type === Events.Error && context) refused.push(context.subject);
        }
      })();
      const sub = nc.subscribe(subjects.recorder.start, { queue: 'recorder-v1' });
      await nc.flush();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(refused.includes(subjects.recorder.start), service !== 'recorder', `${service} taking recorder.v1.start`);
      sub.unsubscribe();
      await nc.close();
    }
  } finally {
    if (server.exitCode === null) {
      server.kill();
      await new Promise((r) => server.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
