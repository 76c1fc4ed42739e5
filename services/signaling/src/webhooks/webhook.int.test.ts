import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RecordingSchema, type Recording } from '@recstack/contracts';
import { ServiceError } from '@recstack/service-kit';
import { client, publish, startHarness, waitUntil, type Harness } from '../testing/harness.js';
import { SIGNATURE_HEADER, verifySignature } from './webhook-signing.js';

const SECRET = 'whsec-test-0123456789abcdef';

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver that answers with the next status of its script (then 200). */
class Receiver {
  readonly deliveries: Delivery[] = [];
  script: number[] = [];
  private constructor(readonly server: Server) {}

  static async start(): Promise<Receiver> {
    let receiver!: Receiver;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        receiver.deliveries.push({ headers: req.headers, body });
        res.statusCode = receiver.script.shift() ?? 200;
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
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let h: Harness;
let receiver: Receiver;
const api = client(() => h.url);

before(async () => {
  receiver = await Receiver.start();
  h = await startHarness({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_MS: '100', WEBHOOK_MAX_ATTEMPTS: '4' });
});
after(async () => {
  await h.close();
  await receiver.close();
});

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
    assert.equal(verifySignature(SECRET, delivery.body, typeof signature === 'string' ? signature : undefined, Math.floor(Date.now() / 1000)), true, 'signature verifies');
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
  await waitUntil(() => receiver.for(done.id).length >= 4, 'four attempts');
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(receiver.for(done.id).length, 4);
  receiver.script = [];
});

test('a restarted signaling does not notify again for recordings that ended before', async () => {
  const before = receiver.deliveries.length;
  await h.restart({ WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_BASE_MS: '20' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(receiver.deliveries.length, before);
  const done = await recordAndStop();
  await waitUntil(() => receiver.for(done.id).length === 1, 'the delivery of the new recording');
});
