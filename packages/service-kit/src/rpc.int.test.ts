import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from 'nats';
import { z } from 'zod';
import type { InstanceRpc, SharedRpc } from '@recstack/contracts';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import {
  BadRequestError,
  InvalidReplyError,
  RemoteError,
  ServiceError,
  TimeoutError,
  UnavailableError,
  call,
  createLogger,
  encodeJson,
  gather,
  serve,
} from './index.js';

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
const Doubled = z.object({ doubled: z.number().int() });

/** Descriptors as contracts declares them, on test subjects. */
function shared(subject: string, queue?: string): SharedRpc<typeof Echo, typeof Doubled> {
  return {
    name: `test.${subject}`,
    service: 'recorder',
    unavailable: 'RECORDER_UNAVAILABLE',
    subject,
    ...(queue ? { queue } : {}),
    request: Echo,
    reply: Doubled,
  };
}
const perInstance: InstanceRpc<typeof Echo, typeof Doubled> = {
  name: 'test.instance',
  service: 'media',
  unavailable: 'MEDIA_UNAVAILABLE',
  subject: (id) => `t.${id}.double`,
  request: Echo,
  reply: Doubled,
};

const double = async (r: { n: number }) => ({ doubled: r.n * 2 });
const replyOf = (data: Uint8Array) =>
  JSON.parse(new TextDecoder().decode(data)) as { ok: boolean; result?: unknown; error?: { code: string; message: string } };

test('a call gets its validated reply; an instance descriptor is served and called on its id', async () => {
  const d = shared('t.echo');
  const sub = serve(nc, d, double, { logger });
  const subA = serve(nc, perInstance, double, { id: 'med_a', logger });
  try {
    assert.deepEqual(await call(nc, d, { n: 21 }, { timeoutMs: 2000 }), { doubled: 42 });
    assert.deepEqual(await call(nc, perInstance, { n: 5 }, { id: 'med_a', timeoutMs: 2000 }), { doubled: 10 });
    // another instance's subject has nobody: its service's unavailable code
    await assert.rejects(
      call(nc, perInstance, { n: 5 }, { id: 'med_b', timeoutMs: 2000 }),
      (err: unknown) => err instanceof UnavailableError && err.code === 'MEDIA_UNAVAILABLE',
    );
  } finally {
    sub.unsubscribe();
    subA.unsubscribe();
  }
});

test('a queue descriptor is taken by one instance per request', async () => {
  const d = shared('t.queued', 'test-q');
  const seen = [0, 0, 0];
  const subs = seen.map((_, i) =>
    serve(
      nc,
      d,
      async (r) => {
        seen[i] = (seen[i] ?? 0) + 1;
        return { doubled: r.n * 2 };
      },
      { logger },
    ),
  );
  try {
    for (let i = 0; i < 9; i++) await call(nc, d, { n: i }, { timeoutMs: 2000 });
    assert.equal(
      seen.reduce((a, b) => a + b, 0),
      9,
      'each request answered exactly once',
    );
  } finally {
    for (const s of subs) s.unsubscribe();
  }
});

test('malformed requests get a BAD_REQUEST reply and the subscription keeps serving', async () => {
  const d = shared('t.strict');
  const sub = serve(nc, d, double, { logger });
  try {
    const notJson = replyOf((await nc.request(d.subject, new TextEncoder().encode('{nope'), { timeout: 2000 })).data);
    assert.equal(notJson.error?.code, 'BAD_REQUEST');
    const wrongShape = replyOf((await nc.request(d.subject, encodeJson({ n: 'x' }), { timeout: 2000 })).data);
    assert.equal(wrongShape.ok, false);
    assert.equal(wrongShape.error?.code, 'BAD_REQUEST');
    assert.match(wrongShape.error?.message ?? '', /^invalid message: n:/);
    assert.deepEqual(await call(nc, d, { n: 1 }, { timeoutMs: 2000 }), { doubled: 2 });
  } finally {
    sub.unsubscribe();
  }
});

test('typed error replies become RemoteError with the remote code; unknown errors do not leak their message', async () => {
  const d = shared('t.fail');
  const sub = serve(
    nc,
    d,
    async (r) => {
      if (r.n === 1) throw new ServiceError('PORT_IN_USE', 'port 50000 is taken');
      if (r.n === 2) throw new BadRequestError('n must not be 2');
      throw new Error('secret internal detail');
    },
    { logger },
  );
  try {
    await assert.rejects(call(nc, d, { n: 1 }, { timeoutMs: 2000 }), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.code, 'PORT_IN_USE');
      assert.equal(err.message, 'port 50000 is taken');
      assert.equal(err.subject, 't.fail');
      return true;
    });
    // the other side's BAD_REQUEST stays a remote error, not an invalid reply
    await assert.rejects(
      call(nc, d, { n: 2 }, { timeoutMs: 2000 }),
      (err: unknown) => err instanceof RemoteError && err.code === 'BAD_REQUEST' && !(err instanceof InvalidReplyError),
    );
    await assert.rejects(call(nc, d, { n: 3 }, { timeoutMs: 2000 }), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.code, 'INTERNAL');
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  } finally {
    sub.unsubscribe();
  }
});

test('a handler answer that breaks the reply schema is never sent: the caller gets INTERNAL', async () => {
  const d = shared('t.wronganswer');
  const sub = serve(nc, d, async () => ({ doubled: 'forty-two' }) as unknown as { doubled: number }, { logger });
  try {
    const raw = replyOf((await nc.request(d.subject, encodeJson({ n: 1 }), { timeout: 2000 })).data);
    assert.deepEqual(raw, { ok: false, error: { code: 'INTERNAL', message: 'internal error' } });
    await assert.rejects(call(nc, d, { n: 1 }, { timeoutMs: 2000 }), (err: unknown) => err instanceof RemoteError && err.code === 'INTERNAL');
  } finally {
    sub.unsubscribe();
  }
});

test('a malformed reply is an InvalidReplyError (INVALID_REPLY), never a BadRequestError', async () => {
  const d = shared('t.garbage');
  const replies: Uint8Array[] = [
    new TextEncoder().encode('this is not json'),
    encodeJson({ hello: 'world' }),
    encodeJson({ ok: true, result: { doubled: 'x' } }),
    encodeJson({ ok: true }),
    encodeJson({ ok: false, error: { code: 'NOT_A_CODE', message: 'x' } }),
    new Uint8Array([0xff, 0x00, 0x13]),
  ];
  const count = replies.length;
  const responder = nc.subscribe(d.subject, { callback: (_err, msg) => msg.respond(replies.shift() ?? encodeJson(null)) });
  const outcomes: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      await assert.rejects(call(nc, d, { n: 1 }, { timeoutMs: 2000, observe: (name, outcome) => outcomes.push(`${name} ${outcome}`) }), (err: unknown) => {
        assert.ok(err instanceof InvalidReplyError, `reply ${i}: ${String(err)}`);
        assert.ok(!(err instanceof BadRequestError));
        assert.ok(!(err instanceof RemoteError));
        assert.equal(err.code, 'INVALID_REPLY');
        assert.equal(err.message, 'the recorder service sent an invalid reply');
        assert.equal(err.subject, 't.garbage');
        assert.ok(err.cause instanceof BadRequestError, 'the parse problem is kept for the log');
        return true;
      });
    }
    assert.deepEqual(outcomes, Array(count).fill('test.t.garbage invalid-reply'));
  } finally {
    responder.unsubscribe();
  }
});

test('no responders and silence become UnavailableError and TimeoutError', async () => {
  const outcomes: string[] = [];
  const observe = (_name: string, outcome: string) => outcomes.push(outcome);
  await assert.rejects(
    call(nc, shared('t.nobody'), { n: 1 }, { timeoutMs: 1000, observe }),
    (err: unknown) => err instanceof UnavailableError && err.code === 'RECORDER_UNAVAILABLE',
  );
  const silent = nc.subscribe('t.silent', { callback: () => undefined });
  try {
    await assert.rejects(
      call(nc, shared('t.silent'), { n: 1 }, { timeoutMs: 300, observe }),
      (err: unknown) => err instanceof TimeoutError && err.code === 'TIMEOUT',
    );
  } finally {
    silent.unsubscribe();
  }
  assert.deepEqual(outcomes, ['RECORDER_UNAVAILABLE', 'TIMEOUT']);
});

test('a call on a closed connection throws what NATS threw (the caller decides what it means)', async () => {
  const other = await connect({ servers: server.url });
  await other.close();
  const outcomes: string[] = [];
  await assert.rejects(
    call(other, shared('t.closed'), { n: 1 }, { timeoutMs: 500, observe: (_n, o) => outcomes.push(o) }),
    (err: unknown) => !(err instanceof ServiceError),
  );
  assert.deepEqual(outcomes, ['connection']);
});

test('gather collects a valid answer from every instance and skips invalid ones', async () => {
  const d = shared('t.ping');
  const subs = [1, 2, 3].map((n) => serve(nc, d, async () => ({ doubled: n }), { logger }));
  const liar = nc.subscribe(d.subject, { callback: (_err, msg) => msg.respond(encodeJson({ ok: true, result: { doubled: 'four' } })) });
  try {
    const answers = await gather(nc, d, { n: 0 }, 500);
    assert.deepEqual(answers.map((a) => a.doubled).sort(), [1, 2, 3]);
  } finally {
    for (const s of subs) s.unsubscribe();
    liar.unsubscribe();
  }
  assert.deepEqual(await gather(nc, d, { n: 0 }, 200), []);
});
