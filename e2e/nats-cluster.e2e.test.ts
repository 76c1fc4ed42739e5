// Continuity (issue 12): with the 3-node NATS cluster, losing one server is invisible to users. A real
// JetStream cluster of three nats-servers on loopback, every service given all three URLs, the buckets with
// 3 replicas; two recorders; publishers in Chromium over WHIP (H264 + Opus, recorded to MP4 with AAC).
// During one recording each server is killed in turn (SIGKILL; the one the recording's recorder is connected
// to first) and started again 10 s later, so the JetStream meta leader and every bucket's stream leader are
// lost once: meanwhile the API answers, a recording starts during each outage, and every recording ends
// `done`, full length, on the recorder it started on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'nats';
import { BUCKETS, RecordingSchema, isTerminal, type Recording } from '@recstack/contracts';
import {
  decodeErrors,
  launchChromium,
  probe,
  publishWhip,
  startStack,
  type TestBrowser,
  type TestNatsCluster,
  type TestNatsNode,
  type TestStack,
} from '@recstack/testkit';

let stack: TestStack;
let cluster: TestNatsCluster;
let browser: TestBrowser;

before(async () => {
  stack = await startStack({ recorders: 2, natsCluster: 3 });
  assert.ok(stack.natsCluster, 'the stack runs a cluster');
  cluster = stack.natsCluster;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  // a node a failed test left down comes back first, so the services stop as usual
  for (const n of cluster?.nodes ?? []) if (n.pid() === undefined) await n.start().catch(() => undefined);
  await stack?.stop();
});

async function api(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function get(id: string): Promise<Recording | undefined> {
  const res = await api(`/api/recordings/${id}`).catch(() => undefined);
  return res?.status === 200 ? RecordingSchema.parse(res.body) : undefined;
}

async function waitFor(id: string, match: (r: Recording) => boolean, what: string, timeoutMs: number): Promise<Recording> {
  const deadline = Date.now() + timeoutMs;
  let last: Recording | undefined;
  for (;;) {
    last = (await get(id)) ?? last;
    if (last && match(last)) return last;
    if (Date.now() > deadline) throw new Error(`recording ${id}: timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

/** A WHIP publisher in Chromium and its recording, once it has reached `recording` (its first keyframe is written). */
async function startRecording(): Promise<{ recording: Recording; close: () => Promise<void> }> {
  const page = await browser.context.newPage();
  await page.goto(`${stack.baseUrl}/healthz`);
  const { sessionId } = await publishWhip(page, { videoCodec: 'h264' });
  const res = await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const started = RecordingSchema.parse(res.body);
  const recording = await waitFor(started.id, (r) => r.status === 'recording' && r.startedAt !== null, 'the first keyframe', 30_000);
  return { recording, close: () => page.close() };
}

async function untilRecorded(recording: Recording, ms: number): Promise<void> {
  await sleep(Math.max(0, Date.parse(recording.startedAt ?? '') + ms - Date.now()));
}

async function stopRecording(id: string): Promise<Recording> {
  const res = await api(`/api/recordings/${id}/stop`, { method: 'POST' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return waitFor(id, (r) => isTerminal(r.status), 'the recording to end', 60_000);
}

/** The node holding a client connection whose name starts with `prefix`, and every connection it holds. */
async function nodeOf(prefix: string): Promise<{ node: TestNatsNode; clients: string[] }> {
  for (const node of cluster.nodes) {
    const clients = await node.clients();
    if (clients.some((c) => c.startsWith(prefix))) return { node, clients };
  }
  throw new Error(`no node holds a connection named ${prefix}`);
}

/** Asks the API for the list and one recording every 500 ms until stopped; returns every answer that was not 200. */
function pollApi(id: string): { stop: () => Promise<{ calls: number; failures: string[] }> } {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      for (const path of ['/api/recordings', `/api/recordings/${id}`]) {
        const t = Date.now();
        const res = await api(path).catch((err: unknown) => ({ status: 0, body: String(err) }));
        calls++;
        if (res.status !== 200) failures.push(`${path}: ${res.status} ${JSON.stringify(res.body)} after ${Date.now() - t} ms`);
      }
      await sleep(500);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { calls, failures };
    },
  };
}

/** Full length (± 1 s of the time from its first keyframe to its stop), one segment, a clean decode. */
async function assertWhole(done: Recording, startedOn: string | null): Promise<void> {
  assert.equal(done.status, 'done', JSON.stringify(done.error));
  assert.equal(done.stopReason, 'requested');
  assert.equal(done.segments, undefined, `no handover: the recorder was never taken for lost (${JSON.stringify(done.segments)})`);
  assert.equal(done.recorderId, startedOn, 'it ended on the recorder it started on');
  const wallMs = Date.parse(done.stoppedAt ?? '') - Date.parse(done.startedAt ?? '');
  assert.ok(Math.abs((done.durationMs ?? 0) - wallMs) <= 1000, `full length: ${done.durationMs} ms of ${wallMs} ms`);
  const path = join(stack.recordingsDir, done.fileName);
  const probed = await probe(path);
  assert.ok(Math.abs(probed.durationSec * 1000 - (done.durationMs ?? 0)) <= 500, `file ${probed.durationSec} s, recording object ${done.durationMs} ms`);
  assert.equal(await decodeErrors(path), '', 'a full decode prints no error');
}

test('the buckets are created with 3 replicas on the cluster', async () => {
  const nc = await connect({ servers: cluster.urls });
  try {
    const jsm = await nc.jetstreamManager();
    for (const bucket of [BUCKETS.recordings, BUCKETS.sessions, BUCKETS.sessionOwners]) {
      assert.equal((await jsm.streams.info(`KV_${bucket}`)).config.num_replicas, 3, bucket);
    }
  } finally {
    await nc.close();
  }
});

/** Until every replica of the buckets' streams is current again (a restarted node has caught up). */
async function untilReplicasCurrent(timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: cluster.urls });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lagging: string[] = [];
      // the manager checks the account on creation, which fails while the cluster elects its meta leader
      const jsm = await nc.jetstreamManager({ timeout: 2000 }).catch(() => undefined);
      if (!jsm) lagging.push('JetStream');
      else
        for (const bucket of [BUCKETS.recordings, BUCKETS.sessions, BUCKETS.sessionOwners]) {
          const info = await jsm.streams.info(`KV_${bucket}`).catch(() => undefined);
          const replicas = info?.cluster?.replicas ?? [];
          if (!info?.cluster?.leader || replicas.length < 2 || replicas.some((r) => !r.current || r.offline)) lagging.push(bucket);
        }
      if (lagging.length === 0) return;
      if (Date.now() > deadline) throw new Error(`replicas not current after ${timeoutMs} ms: ${lagging.join(', ')}`);
      await sleep(500);
    }
  } finally {
    await nc.close();
  }
}

/** The node holding the recorder's connection first, then the others: each leader (meta, streams) is lost once. */
async function killOrder(recorderId: string): Promise<TestNatsNode[]> {
  const { node: first, clients } = await nodeOf(`recorder ${recorderId}`);
  console.log(`${first.name} holds the recording's recorder and: ${clients.join(', ')}`);
  return [first, ...cluster.nodes.filter((n) => n !== first)];
}

test(
  "each NATS server in turn killed mid-recording (the recorder's first): the API answers, a recording starts during each outage, all end done and full length",
  { timeout: 420_000 },
  async () => {
    const first = await startRecording();
    await untilRecorded(first.recording, 5000);
    const polling = pollApi(first.recording.id);
    const during: Recording[] = [];
    for (const node of await killOrder(first.recording.recorderId ?? '')) {
      await node.kill(true);
      const downAt = Date.now();
      // a recording starts while the server is down, and is stopped once it is back
      const second = await startRecording();
      console.log(`${node.name} down: ${second.recording.id} recording ${Date.now() - downAt} ms after the kill, on ${second.recording.recorderId ?? '?'}`);
      await sleep(Math.max(0, downAt + 10_000 - Date.now()));
      await node.start();
      await untilReplicasCurrent(60_000);
      console.log(`${node.name} back after ${((Date.now() - downAt) / 1000).toFixed(1)} s, its replicas current`);
      const done = await stopRecording(second.recording.id);
      await assertWhole(done, second.recording.recorderId);
      during.push(done);
      await second.close();
    }
    const { calls, failures } = await polling.stop();
    console.log(`API calls during the outages: ${calls}, not 200: ${failures.length}`);
    assert.deepEqual(failures, [], 'the API answered list and get throughout');
    const a = await stopRecording(first.recording.id);
    console.log(
      `cluster nodes lost in turn: ${JSON.stringify({ first: { durationMs: a.durationMs, segments: a.segments }, during: during.map((d) => d.durationMs) })}`,
    );
    await assertWhole(a, first.recording.recorderId);
    const list = await api('/api/recordings');
    assert.equal(list.status, 200);
    const failed = (list.body as Recording[]).filter((r) => r.status === 'failed');
    assert.deepEqual(
      failed.map((r) => r.id),
      [],
      'nothing was marked failed',
    );
    await first.close();
  },
);
