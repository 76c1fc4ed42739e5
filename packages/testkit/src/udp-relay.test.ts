import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { ImpairmentModel, RelayFlows, rewriteCandidates, rtpPayloadTypeIs, seededRandom, startUdpRelay } from './udp-relay.js';

test('the seeded generator is deterministic and uniform enough', () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const xs = Array.from({ length: 20_000 }, () => a());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
});

test('loss: the share of packets dropped is the percentage asked, and the same seed drops the same packets', () => {
  const run = (seed: number) => {
    const model = new ImpairmentModel({ lossPercent: 5 }, seededRandom(seed));
    return Array.from({ length: 20_000 }, (_, i) => 'drop' in model.decide(1000, i));
  };
  const drops = run(1);
  const share = drops.filter(Boolean).length / drops.length;
  assert.ok(share > 0.045 && share < 0.055, `lost ${(share * 100).toFixed(2)} %`);
  assert.deepEqual(run(1), drops);
  assert.notDeepEqual(run(2), drops);
});

test('jitter: every delay is within 0..jitter and they spread evenly (mean about half)', () => {
  const model = new ImpairmentModel({ jitterMs: 40 }, seededRandom(3));
  const delays = Array.from({ length: 10_000 }, (_, i) => {
    const v = model.decide(1000, i * 10);
    assert.ok(!('drop' in v));
    return v.sendAt - i * 10;
  });
  assert.ok(delays.every((d) => d >= 0 && d <= 40));
  const mean = delays.reduce((s, d) => s + d, 0) / delays.length;
  assert.ok(Math.abs(mean - 20) < 1, `mean delay ${mean}`);
  // packets 10 ms apart with up to 40 ms of jitter overtake each other
  const overtaken = delays.filter((d, i) => i > 0 && i * 10 + d < (i - 1) * 10 + (delays[i - 1] ?? 0)).length;
  assert.ok(overtaken > 0);
});

test('reorder: the share held back is the percentage asked; a held packet goes right after the next one', () => {
  const model = new ImpairmentModel({ reorderPercent: 10 }, seededRandom(5));
  const order: number[] = [];
  const pending: Array<{ at: number; id: number }> = [];
  for (let i = 0; i < 10_000; i++) {
    const v = model.decide(1000, i, (at) => pending.push({ at, id: i }));
    assert.ok(!('drop' in v));
    if (!v.reordered) pending.push({ at: v.sendAt, id: i });
  }
  model.flush(10_000);
  for (const p of pending.sort((a, b) => a.at - b.at)) order.push(p.id);
  assert.equal(order.length, 10_000, 'nothing is lost by reordering');
  const share = model.stats.reordered / 10_000;
  assert.ok(share > 0.09 && share < 0.11, `reordered ${(share * 100).toFixed(2)} %`);
  const outOfOrder = order.filter((id, i) => i > 0 && id < (order[i - 1] ?? 0)).length;
  assert.ok(outOfOrder > 0.08 * 10_000, `${outOfOrder} arrive after a later packet`);
});

test('bandwidth: packets leave at the link rate; a queue longer than queueMs drops the newest', () => {
  // 800 kbit/s: a 1000-byte packet takes 10 ms on the wire
  const model = new ImpairmentModel({ bandwidthKbps: 800, queueMs: 100 }, seededRandom(1));
  const verdicts = Array.from({ length: 30 }, () => model.decide(1000, 0));
  const sent = verdicts.filter((v): v is { sendAt: number; reordered: boolean } => !('drop' in v));
  assert.deepEqual(
    sent.slice(0, 3).map((v) => v.sendAt),
    [10, 20, 30],
  );
  assert.equal(sent.length, 11, 'what fits in 100 ms of queue (and the one on the wire)');
  assert.equal(model.stats.queueDropped, 19);
});

test('two flows: the bandwidth cap is each flow’s, and a packet held back is released by its own flow only', () => {
  // 800 kbit/s: a 1000-byte packet takes 10 ms; 100 ms of queue: 11 of a burst of 30 go, per flow
  const capped = new RelayFlows({ bandwidthKbps: 800, queueMs: 100 }, {}, 1);
  const burst = (key: string) => Array.from({ length: 30 }, () => capped.flow(key).up.decide(1000, 0)).filter((v) => !('drop' in v));
  const a = burst('127.0.0.1:1000');
  const b = burst('127.0.0.1:2000');
  assert.equal(a.length, 11);
  assert.equal(b.length, 11, 'the second flow has its own link, not what the first left');
  assert.deepEqual(
    b.slice(0, 3).map((v) => ('drop' in v ? v : v.sendAt)),
    [10, 20, 30],
  );
  assert.deepEqual(capped.totals('up'), { received: 60, forwarded: 22, lost: 0, queueDropped: 38, reordered: 0 });
  assert.equal(capped.totals('down').received, 0);

  // every packet held back: each waits for the next packet of its own flow
  const reorder = new RelayFlows({ reorderPercent: 100 }, {}, 1);
  const released: string[] = [];
  const send = (key: string, id: string, now: number) => reorder.flow(key).up.decide(100, now, () => released.push(id));
  send('a', 'a1', 0);
  send('b', 'b1', 1);
  send('b', 'b2', 2);
  assert.deepEqual(released, ['b1'], "b's packets release b's, not a's");
  send('a', 'a2', 3);
  assert.deepEqual(released, ['b1', 'a1']);
});

test('setUpstream changes every flow, present and future; one flow impairs as the seed alone would', () => {
  const flows = new RelayFlows({}, {}, 9);
  flows.flow('a');
  flows.setUpstream({ lossPercent: 100 });
  assert.ok('drop' in flows.flow('a').up.decide(100, 0));
  assert.ok('drop' in flows.flow('b').up.decide(100, 0));
  const single = new RelayFlows({ lossPercent: 30 }, {}, 9).flow('x').up;
  const model = new ImpairmentModel({ lossPercent: 30 }, seededRandom(9));
  assert.deepEqual(
    Array.from({ length: 200 }, (_, i) => 'drop' in single.decide(100, i)),
    Array.from({ length: 200 }, (_, i) => 'drop' in model.decide(100, i)),
  );
});

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

test('the relay carries datagrams both ways like a NAT, and drops the share asked on a real socket', { timeout: 20_000 }, async () => {
  const server = await bound();
  const client = await bound();
  // the server echoes to whoever sent: the relay's upstream socket, as media answers an ICE-lite peer
  server.on('message', (m, r) => server.send(m, r.port, r.address));
  const relay = await startUdpRelay({ target: { host: '127.0.0.1', port: server.address().port }, upstream: { lossPercent: 20 }, seed: 11 });
  try {
    const echoed = new Set<number>();
    client.on('message', (m) => echoed.add(m.readUInt32BE(0)));
    const total = 2000;
    for (let i = 0; i < total; i++) {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(i, 0);
      client.send(b, relay.port, relay.host);
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 2));
    }
    const deadline = Date.now() + 5000;
    while (echoed.size < relay.upstream.forwarded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // a busy machine's kernel may drop a few datagrams at a full socket on the way: counted, not judged
    assert.ok(relay.upstream.received > 0.9 * total && relay.upstream.received <= total, `relay received ${relay.upstream.received}`);
    assert.equal(relay.upstream.forwarded + relay.upstream.lost, relay.upstream.received);
    assert.ok(
      echoed.size > 0.9 * relay.upstream.forwarded && echoed.size <= relay.upstream.forwarded,
      `${echoed.size} of ${relay.upstream.forwarded} forwarded came back to the client`,
    );
    assert.equal(relay.downstream.received, relay.downstream.forwarded, 'nothing is lost downstream without an impairment');
    const share = relay.upstream.lost / relay.upstream.received;
    assert.ok(share > 0.16 && share < 0.24, `lost ${(share * 100).toFixed(1)} %`);
    assert.equal(relay.downstream.lost, 0);
  } finally {
    await relay.close();
    await relay.close();
    server.close();
    client.close();
  }
});

test("an answer's candidates are pointed at the relay", () => {
  const sdp = 'v=0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=candidate:2 1 tcp 1 127.0.0.1 40001 typ host\r\na=end-of-candidates\r\n';
  const out = rewriteCandidates(sdp, { host: '127.0.0.1', port: 5555 });
  assert.deepEqual(out.target, { host: '127.0.0.1', port: 40000 });
  assert.match(out.sdp, /a=candidate:1 1 udp 2130706431 127\.0\.0\.1 5555 typ host/);
  assert.match(out.sdp, /a=candidate:2 1 tcp 1 127\.0\.0\.1 40001 typ host/, 'TCP candidates are left alone');
});

function rtp(payloadType: number, seq: number): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x80;
  b[1] = payloadType & 0x7f;
  b.writeUInt16BE(seq, 2);
  return b;
}

test('rtpPayloadTypeIs matches RTP of one payload type, not RTCP, STUN or DTLS', () => {
  const opus = rtpPayloadTypeIs(111);
  assert.equal(opus(rtp(111, 1)), true);
  assert.equal(opus(Buffer.from([0x80, 0x80 | 111, ...new Array<number>(38).fill(0)])), true, 'the marker bit is not part of the type');
  assert.equal(opus(rtp(96, 1)), false);
  assert.equal(opus(Buffer.from([0x80, 200, ...new Array<number>(30).fill(0)])), false, 'an RTCP sender report');
  assert.equal(opus(Buffer.from([0x00, 0x01, ...new Array<number>(30).fill(0)])), false, 'a STUN binding request');
  assert.equal(opus(Buffer.from([0x17, 0xfe, ...new Array<number>(30).fill(0)])), false, 'DTLS application data');
  assert.equal(opus(Buffer.from([0x80, 111])), false, 'shorter than an RTP header');
});

test('dropUpstream drops only the matching packets, until it is lifted', { timeout: 20_000 }, async () => {
  const server = await bound();
  const received: number[] = [];
  server.on('message', (m) => received.push(m[1] as number));
  const client = await bound();
  const relay = await startUdpRelay({ target: { host: '127.0.0.1', port: server.address().port } });
  try {
    const send = async (pt: number, n: number) => {
      for (let i = 0; i < n; i++) client.send(rtp(pt, i), relay.port, relay.host);
      await new Promise((r) => setTimeout(r, 100));
    };
    relay.dropUpstream(rtpPayloadTypeIs(111));
    await send(111, 10);
    await send(96, 10);
    relay.dropUpstream(undefined);
    await send(111, 10);
    const deadline = Date.now() + 3000;
    while (received.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(relay.upstream.lost, 10);
    assert.equal(received.filter((pt) => pt === 96).length, 10);
    assert.equal(received.filter((pt) => pt === 111).length, 10, 'audio passes again once lifted');
  } finally {
    await relay.close();
    server.close();
    client.close();
  }
});

test('through the sockets, each client address gets its own bandwidth cap', { timeout: 20_000 }, async () => {
  const server = await bound();
  // the relay's upstream socket per client: its port tells the flows apart at the server
  const bySource = new Map<number, number>();
  server.on('message', (_m, r) => bySource.set(r.port, (bySource.get(r.port) ?? 0) + 1));
  const clients = [await bound(), await bound()];
  // 800 kbit/s, 100 ms of queue: 11 of a burst of 30 × 1000 bytes go per flow (more if the relay is slow to read)
  const relay = await startUdpRelay({ target: { host: '127.0.0.1', port: server.address().port }, upstream: { bandwidthKbps: 800, queueMs: 100 } });
  try {
    for (const c of clients) for (let i = 0; i < 30; i++) c.send(Buffer.alloc(1000), relay.port, relay.host);
    const deadline = Date.now() + 5000;
    while ([...bySource.values()].reduce((a, n) => a + n, 0) < relay.upstream.forwarded && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200));
    const counts = [...bySource.values()];
    assert.equal(counts.length, 2, 'two flows reached the server');
    // one cap for both would let about 11 through in all, the second flow's burst mostly dropped
    for (const n of counts) assert.ok(n >= 11, `each flow delivered at least a queue's worth: ${counts.join(', ')}`);
    assert.equal(relay.upstream.received, relay.upstream.forwarded + relay.upstream.queueDropped);
  } finally {
    await relay.close();
    server.close();
    for (const c of clients) c.close();
  }
});
