// NATS_KV_REPLICAS on a real 3-node JetStream cluster: the buckets are created with 3 replicas, and a bucket
// created earlier with 1 is raised to 3 when a service opens it asking for 3.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { BUCKETS } from '@recstack/contracts';
import { createLogger } from '@recstack/service-kit';
import { freeTcpPort } from '@recstack/testkit';
import { RECORDING_FILES_STREAM, RecordingCatalog, ensureReplicas, openRecordingFiles } from './index.js';

const logger = createLogger('test', 'silent');
const servers: ChildProcess[] = [];
let dirs: string[] = [];
let nc: NatsConnection;

async function startCluster(size: number): Promise<string[]> {
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freeTcpPort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freeTcpPort()));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  dirs = await Promise.all(Array.from({ length: size }, () => mkdtemp(join(tmpdir(), 'recstack-nats-cluster-'))));
  for (let i = 0; i < size; i++) {
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(clientPorts[i]),
      '-js',
      '-sd',
      dirs[i] ?? '',
      '-n',
      `n${i + 1}`,
      '--cluster_name',
      'recstack',
      '--cluster',
      `nats://127.0.0.1:${routePorts[i]}`,
      '--routes',
      routes,
    ];
    servers.push(spawn('nats-server', args, { stdio: 'ignore' }));
  }
  return clientPorts.map((p) => `nats://127.0.0.1:${p}`);
}

/** JetStream in a cluster answers once its meta leader is elected. */
async function waitForJetStream(conn: NatsConnection): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const jsm = await conn.jetstreamManager({ timeout: 2000 });
      await jsm.getAccountInfo();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

before(async () => {
  const urls = await startCluster(3);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      nc = await connect({ servers: urls, timeout: 1000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await waitForJetStream(nc);
});

after(async () => {
  await nc?.close();
  await Promise.all(servers.map((s) => new Promise((r) => (s.exitCode !== null ? r(null) : (s.once('exit', r), s.kill('SIGTERM'))))));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function replicasOf(stream: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(stream)).config.num_replicas;
}

test('the catalog and the recording files bucket are created with the replicas asked for', async () => {
  const catalog = await RecordingCatalog.open(nc, logger, { replicas: 3 });
  assert.equal(await replicasOf(`KV_${BUCKETS.recordings}`), 3);
  assert.deepEqual(await catalog.list(), []);
  const files = await openRecordingFiles(nc, logger, { replicas: 3 });
  assert.equal(await replicasOf(RECORDING_FILES_STREAM), 3);
  await files.putBlob({ name: 'rec_r3' }, new Uint8Array([1, 2, 3]));
  assert.equal((await files.info('rec_r3'))?.size, 3);
});

test('a bucket created with one replica is raised to the wanted count, never lowered', async () => {
  await nc.jetstream().views.kv(BUCKETS.sessions, { history: 1, replicas: 1 });
  assert.equal(await replicasOf(`KV_${BUCKETS.sessions}`), 1);
  assert.equal(await ensureReplicas(nc, `KV_${BUCKETS.sessions}`, 3, logger), 3);
  assert.equal(await replicasOf(`KV_${BUCKETS.sessions}`), 3);
  assert.equal(await ensureReplicas(nc, `KV_${BUCKETS.sessions}`, 1, logger), 3, 'a service asking for fewer does not shrink it');
  assert.equal(await replicasOf(`KV_${BUCKETS.sessions}`), 3);
});
