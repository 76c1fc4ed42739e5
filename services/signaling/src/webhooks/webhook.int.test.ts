import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONSUMERS, RecordingSchema, STREAMS, type Recording } from '@recstack/contracts';
import { ServiceError } from '@recstack/service-kit';
import { connect } from 'nats';
import { loadConfig } from '../config.js';
import type { SignalingMetrics } from '../metrics.js';
import { startSignaling } from '../signaling.js';
import { client, publish, startHarness, waitUntil, type Harness } from '../testing/harness.js';
import { SIGNATURE_HEADER, verifySignature } from './webhook-signing.js';

const SECRET = 'whsec-test-0123456789abcdef';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** what the receiver answered */
  status: number;
}

/** A webhook receiver that answers with `answer`'s status, else the next status of its script (then 200). */
class Receiver {
  readonly deliveries: Delivery[] = [];
  script: number[] = [];
  answer: ((recordingId: string, attempt: number) => number | undefined) | undefined;
  private constructor(readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let receiver!: Receiver;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const id = (JSON.parse(body) as Recording).id;
        const status = receiver.answer?.(id, Number(req.headers['x-recstack-attempt'])) ?? receiver.script.shift() ?? 200;
        receiver.deliveries.push({ headers: req.headers, body, status });
        // 0: never answer (the sender gives up or goes away)
        if (status === 0) return;
        res.statusCode = status;
        res.end();
      });
    });
    receiver = new Receiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/recordings`;
  }

  for(id: string): Delivery[] {
    return this.deliveries.filter((d) => (JSON.parse(d.body) as Recording).id === id);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let h: Harness;
let receiver: Receiver;
const api = client(() => h.url);
const webhookEnv = () => ({
  WEBHOOK_URL: receiver.url,
  WEBHOOK_SECRET: SECRET,
  WEBHOOK_RETRY_BASE_MS: '20',
  WEBHOOK_RETRY_MAX_MS: '100',
  WEBHOOK_MAX_ATTEMPTS: '4',
});

before(async () => {
  receiver = await Receiver.start();
  h = await startHarness(webhookEnv());
});
after(async () => {
  await h.close();
  await receiver.close();
});

async function countOf(metrics: SignalingMetrics, result: string): Promise<number> {
  return (await metrics.webhookDeliveries.get()).values.filter((v) => v.labels.result === result).reduce((sum, v) => sum + v.value, 0);
}

async function recordAndStop(): Promise<Recording> {
  const sessionId = await publish(api);
  const started = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
  return (await (await api(`/api/recordings/${started.id}/stop`, { method: 'POST' })).json()) as Recording;
}

test('a finished recording is POSTed, signed, and retried with backoff until the receiver takes it', async () => {
  receiver.script = [503, 500];
  const done = await recordAndStop();
  const deliveries = await waitUntil(() => (receiver.for(done.id).length >= 3 ? receiver.for(done.id) : undefined), 'three attempts');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.for(done.id).length, 3, 'no attempt after the successful one');
  for (const [i, delivery] of deliveries.entries()) {
    assert.equal(delivery.headers['content-type'], 'application/json');
    assert.equal(delivery.headers['x-recstack-event'], 'recording.done');
    assert.equal(delivery.headers['x-recstack-delivery'], `${done.id}.done`, 'the same delivery id on every attempt');
    assert.equal(delivery.headers['x-recstack-attempt'], String(i + 1));
    const signature = delivery.headers[SIGNATURE_HEADER];
    assert.equal(
      verifySignature(SECRET, delivery.body, typeof signature === 'string' ? signature : undefined, Math.floor(Date.now() / 1000)),
      true,
      'signature verifies',
    );
    assert.equal(verifySignature('another-secret-0123456789', delivery.body, String(signature), Math.floor(Date.now() / 1000)), false);
    const body = RecordingSchema.parse(JSON.parse(delivery.body));
    assert.equal(body.status, 'done');
    assert.equal(body.sizeBytes, done.sizeBytes);
    assert.equal(body.durationMs, done.durationMs);
  }
});

test('a failed recording is delivered too; a 4xx answer is not retried', async () => {
  receiver.script = [410];
  const sessionId = await publish(api);
  h.media.behaviour.beforeStart = () => {
    throw new ServiceError('RECORDER_UNAVAILABLE', 'none');
  };
  try {
    assert.equal((await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).status, 503);
  } finally {
    delete h.media.behaviour.beforeStart;
  }
  const delivery = await waitUntil(() => receiver.deliveries.find((d) => (JSON.parse(d.body) as Recording).sessionId === sessionId), 'the failed delivery');
  assert.equal(delivery.headers['x-recstack-event'], 'recording.failed');
  const body = RecordingSchema.parse(JSON.parse(delivery.body));
  assert.equal(body.error?.code, 'RECORDER_UNAVAILABLE');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.deliveries.filter((d) => (JSON.parse(d.body) as Recording).sessionId === sessionId).length, 1);
});

test('attempts stop at WEBHOOK_MAX_ATTEMPTS', async () => {
  receiver.script = [503, 503, 503, 503, 503, 503];
  const done = await recordAndStop();
  const failedBefore = await countOf(h.signaling.metrics, 'failed');
  await waitUntil(() => receiver.for(done.id).length >= 4, 'four attempts');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(receiver.for(done.id).length, 4);
  assert.equal((await countOf(h.signaling.metrics, 'failed')) - failedBefore, 1, 'the terminal failure is counted');
  receiver.script = [];
});

test('a restarted signaling does not notify again for recordings that ended before', async () => {
  const before = receiver.deliveries.length;
  await h.restart({ ...webhookEnv(), WEBHOOK_MAX_ATTEMPTS: '5' });
  const consumer = await (await h.testNc.jetstreamManager()).consumers.info(STREAMS.recordings, CONSUMERS.webhooks);
  assert.equal(consumer.config.max_deliver, 5, 'the instance that started last set the attempts');
  await h.restart(webhookEnv());
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(receiver.deliveries.length, before);
  const done = await recordAndStop();
  await waitUntil(() => receiver.for(done.id).length === 1, 'the delivery of the new recording');
});

test('an end that happens while no signaling runs is delivered when signaling is back; later writes of the entry do not notify again', async () => {
  const sessionId = await publish(api);
  const started = (await (await api(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
  await waitUntil(async () => (await h.catalog.get(started.id))?.status === 'recording', 'the recording running');
  await h.signaling.close(2000);
  // what a recorder writes when it finalizes, then what it writes when the upload to the object store verified
  const now = new Date().toISOString();
  await h.catalog.update(started.id, (r) => ({
    ...r,
    status: 'done',
    stoppedAt: now,
    updatedAt: now,
    durationMs: 4000,
    sizeBytes: 1234,
    stopReason: 'publisher-left',
  }));
  await h.catalog.update(started.id, (r) => ({ ...r, storage: 'nats', updatedAt: new Date().toISOString() }));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(receiver.for(started.id).length, 0, 'nobody to deliver it yet');
  await h.restart(webhookEnv());
  const [delivery] = await waitUntil(() => (receiver.for(started.id).length > 0 ? receiver.for(started.id) : undefined), 'the delivery after the restart');
  assert.equal(delivery?.headers['x-recstack-event'], 'recording.done');
  assert.equal(delivery?.headers['x-recstack-delivery'], `${started.id}.done`);
  assert.equal(RecordingSchema.parse(JSON.parse(delivery?.body ?? '')).durationMs, 4000);
  await h.catalog.update(started.id, (r) => ({ ...r, updatedAt: new Date().toISOString() }));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(receiver.for(started.id).length, 1, 'one delivery for one ending');
});

test('two signaling instances deliver each webhook exactly once, retries included', async () => {
  const nc2 = await connect({ servers: h.nats.url });
  const second = await startSignaling(
    loadConfig({
      ...webhookEnv(),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      RECORDINGS_DIR: h.recordingsDir,
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_SESSIONS_PER_CLIENT: '1000',
    }),
    nc2,
    h.logger,
  );
  try {
    const api2 = client(() => second.url);
    const count = 12;
    const deliveredBefore = await countOf(h.signaling.metrics, 'delivered');
    // every third first attempt fails, so retries too are spread over both instances
    receiver.script = [];
    const failFirst = new Set<string>();
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const via = i % 2 === 0 ? api : api2;
      const sessionId = await publish(via);
      const started = (await (await via(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
      ids.push(started.id);
      if (i % 3 === 0) failFirst.add(started.id);
    }
    receiver.answer = (id, attempt) => (failFirst.has(id) && attempt === 1 ? 503 : undefined);
    await Promise.all(ids.map((id, i) => (i % 2 === 0 ? api : api2)(`/api/recordings/${id}/stop`, { method: 'POST' })));
    const succeeded = (id: string) => receiver.for(id).filter((d) => d.status === 200);
    await waitUntil(() => ids.every((id) => succeeded(id).length >= 1), 'a delivery of every recording', 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    for (const id of ids) {
      assert.equal(succeeded(id).length, 1, `exactly one successful delivery of ${id}`);
      assert.deepEqual(
        receiver.for(id).map((d) => d.headers['x-recstack-attempt']),
        failFirst.has(id) ? ['1', '2'] : ['1'],
        `attempts of ${id}`,
      );
    }
    assert.equal(
      (await countOf(h.signaling.metrics, 'delivered')) + (await countOf(second.metrics, 'delivered')) - deliveredBefore,
      count,
      'the two instances together delivered each once',
    );
  } finally {
    receiver.answer = undefined;
    await second.close(2000);
    await nc2.close();
  }
});

test('an instance that goes away in the middle of a POST leaves the delivery to another one', async () => {
  const nc2 = await connect({ servers: h.nats.url });
  const second = await startSignaling(
    loadConfig({
      ...webhookEnv(),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      RECORDINGS_DIR: h.recordingsDir,
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_SESSIONS_PER_CLIENT: '1000',
    }),
    nc2,
    h.logger,
  );
  try {
    // only the second instance runs when the recording ends
    await h.signaling.close(2000);
    const api2 = client(() => second.url);
    const sessionId = await publish(api2);
    const started = (await (await api2(`/api/sessions/${sessionId}/recordings`, { method: 'POST' })).json()) as Recording;
    receiver.answer = (id) => (id === started.id && receiver.for(id).length === 0 ? 0 : undefined);
    await api2(`/api/recordings/${started.id}/stop`, { method: 'POST' });
    await waitUntil(() => receiver.for(started.id).length === 1, 'the first attempt, left unanswered');
    await second.close(2000);
    await h.restart(webhookEnv());
    await waitUntil(() => receiver.for(started.id).some((d) => d.status === 200), 'the delivery by the other instance');
    await new Promise((r) => setTimeout(r, 300));
    const deliveries = receiver.for(started.id);
    assert.deepEqual(
      deliveries.map((d) => d.status),
      [0, 200],
      "the abandoned POST, then the other instance's",
    );
    assert.deepEqual(
      deliveries.map((d) => d.headers['x-recstack-delivery']),
      [`${started.id}.done`, `${started.id}.done`],
    );
    // a POST abandoned at shutdown goes back without a delay; whether it counts as a delivery is the server's
    // business (nats-server 2.9 does not count it), so only the bound is checked
    assert.ok(Number(deliveries[1]?.headers['x-recstack-attempt']) <= 2);
  } finally {
    receiver.answer = undefined;
    await second.close(2000);
    await nc2.close();
  }
});
