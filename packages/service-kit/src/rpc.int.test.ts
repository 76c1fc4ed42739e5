import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { z } from 'zod';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { serve, request, gather, RemoteError, UnavailableError, TimeoutError, ServiceError, createLogger, encodeJson } from './index.js';

let server: TestNatsServer;
let nc: NatsConnection;
const logger = createLogger('test', 'silent');

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
});
after(async () => {
  await nc.close();
  await server.stop();
});

const Echo = z.object({ n: z.number().int() });
type ErrorReply = { ok: boolean; error: { code: string; message: string } };

test('a request gets its validated result', async () => {
  const sub = serve(nc, { subject: 't.echo', request: Echo, handler: async (r) => ({ n: r.n * 2 }), logger });
  assert.deepEqual(await request(nc, 't.echo', { n: 21 }, Echo, { timeoutMs: 2000, unavailable: 'INTERNAL' }), { n: 42 });
  sub.unsubscribe();
});

test('malformed messages get a BAD_REQUEST reply and the subscription keeps serving', async () => {
  const sub = serve(nc, { subject: 't.strict', request: Echo, handler: async (r) => r, logger });
  const notJson = await nc.request('t.strict', new TextEncoder().encode('{nope'), { timeout: 2000 });
  assert.deepEqual((JSON.parse(new TextDecoder().decode(notJson.data)) as ErrorReply).error.code, 'BAD_REQUEST');
  const wrongShape = await nc.request('t.strict', encodeJson({ n: 'x' }), { timeout: 2000 });
  const body = JSON.parse(new TextDecoder().decode(wrongShape.data)) as ErrorReply;
  assert.equal(body.ok, false);
  assert.equal(body.error.code, 'BAD_REQUEST');
  assert.match(body.error.message, /^invalid message: n:/);
  assert.deepEqual(await request(nc, 't.strict', { n: 1 }, Echo, { timeoutMs: 2000, unavailable: 'INTERNAL' }), { n: 1 });
  sub.unsubscribe();
});

test('handler errors travel as typed errors; unknown errors do not leak their message', async () => {
  const sub = serve(nc, {
    subject: 't.fail',
    request: Echo,
    handler: async (r) => {
      if (r.n === 1) throw new ServiceError('PORT_IN_USE', 'port 50000 is taken');
      throw new Error('secret internal detail');
    },
    logger,
  });
  await assert.rejects(request(nc, 't.fail', { n: 1 }, Echo, { timeoutMs: 2000, unavailable: 'INTERNAL' }), (err: unknown) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, 'PORT_IN_USE');
    return true;
  });
  await assert.rejects(request(nc, 't.fail', { n: 2 }, Echo, { timeoutMs: 2000, unavailable: 'INTERNAL' }), (err: unknown) => {
    assert.ok(err instanceof RemoteError);
    assert.equal(err.code, 'INTERNAL');
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  sub.unsubscribe();
});

test('no responders and silence become UnavailableError and TimeoutError', async () => {
  await assert.rejects(request(nc, 't.nobody', {}, Echo, { timeoutMs: 1000, unavailable: 'MEDIA_UNAVAILABLE' }), (err: unknown) => err instanceof UnavailableError && err.code === 'MEDIA_UNAVAILABLE');
  const silent = nc.subscribe('t.silent', { callback: () => undefined });
  await assert.rejects(request(nc, 't.silent', {}, Echo, { timeoutMs: 300, unavailable: 'INTERNAL' }), (err: unknown) => err instanceof TimeoutError);
  silent.unsubscribe();
});

test('gather collects an answer from every instance', async () => {
  const subs = [1, 2, 3].map((n) => serve(nc, { subject: 't.ping', request: z.object({}), handler: async () => ({ n }), logger }));
  const answers = await gather(nc, 't.ping', {}, Echo, 500);
  assert.deepEqual(answers.map((a) => a.n).sort(), [1, 2, 3]);
  for (const s of subs) s.unsubscribe();
  assert.deepEqual(await gather(nc, 't.ping', {}, Echo, 200), []);
});
