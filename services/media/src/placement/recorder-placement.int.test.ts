// Media's choice of recorder over a real nats-server: the least loaded first, a full one avoided, and the
// queue group as the fallback when the chosen one does not answer on its own subject. The recorders here
// answer the NATS contract only (ping, start); real recorders behind it are in the end-to-end tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { rpc, type RecorderStartRequest } from '@recstack/contracts';
import { ServiceError, createLogger, serve } from '@recstack/service-kit';
import { startNatsServer, type TestNatsServer } from '@recstack/testkit';
import { RecorderClient } from '../recording/recorder-client.js';
import { RecorderPlacement } from './recorder-placement.js';

const logger = createLogger('media-test', 'silent');
let nats: TestNatsServer;
let nc: NatsConnection;

before(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
after(async () => {
  await nc?.close();
  await nats?.stop();
});

/** A recorder as the NATS contract sees it: a capacity, what it holds, and whether it serves its own start subject. */
class ContractRecorder {
  readonly held: string[] = [];
  private readonly subs: Subscription[];

  constructor(
    readonly recorderId: string,
    readonly capacity: number,
    options: { ownSubject?: boolean; claimsActive?: number; units?: { capacityUnits: number; loadUnits: number } } = {},
  ) {
    const start = async (req: RecorderStartRequest) => this.start(req);
    this.subs = [
      serve(nc, rpc.recorder.start, start, { logger }),
      serve(
        nc,
        rpc.recorder.ping,
        async () => ({
          recorderId,
          engine: 'gstreamer' as const,
          host: '127.0.0.1',
          active: options.claimsActive ?? this.held.length,
          capacity,
          ...options.units,
        }),
        { logger },
      ),
    ];
    if (options.ownSubject !== false) this.subs.push(serve(nc, rpc.recorder.startOn, start, { id: recorderId, logger }));
  }

  private start(req: RecorderStartRequest) {
    if (this.held.length >= this.capacity) throw new ServiceError('AT_CAPACITY', 'full');
    this.held.push(req.recordingId);
    return {
      recordingId: req.recordingId,
      recorderId: this.recorderId,
      host: '127.0.0.1',
      ports: req.tracks.map((t) => t.port),
      fileName: `${req.recordingId}.mp4`,
      engine: 'gstreamer' as const,
    };
  }

  close(): void {
    for (const sub of this.subs) sub.unsubscribe();
  }
}

let counter = 0;
function startRequest(): RecorderStartRequest {
  const n = ++counter;
  return {
    recordingId: `rec_place${process.pid}x${n}`,
    sessionId: `ses_place${process.pid}x${n}`,
    container: 'mp4',
    audioCodec: 'aac',
    tracks: [{ kind: 'video', codec: 'h264', payloadType: 96, clockRate: 90000, port: 50_000 + 2 * n }],
  };
}

async function withPlacement<T>(fn: (client: RecorderClient, placement: RecorderPlacement) => Promise<T>): Promise<T> {
  await nc.flush();
  const placement = new RecorderPlacement(nc, logger, { refreshMs: 60_000, pingWaitMs: 200 });
  await placement.refresh();
  try {
    return await fn(new RecorderClient(nc, 5000, placement), placement);
  } finally {
    placement.close();
  }
}

test('a burst of starts spreads evenly over the recorders, counting its own placements between pongs', { timeout: 30_000 }, async () => {
  const recorders = ['rcd_placea', 'rcd_placeb', 'rcd_placef'].map((id) => new ContractRecorder(id, 16));
  try {
    await withPlacement(async (client) => {
      // the view is refreshed only once (refreshMs 60 s): the spread comes from the client's own counting
      // all at once: each start counts as placed when it is sent, not when it is answered
      await Promise.all(Array.from({ length: 12 }, () => client.start(startRequest())));
    });
    // the queue group alone gives 4/4/4 about one time in fifteen
    assert.deepEqual(
      recorders.map((r) => r.held.length),
      [4, 4, 4],
    );
  } finally {
    for (const r of recorders) r.close();
  }
});

test('the least loaded recorder by share of capacity gets the next recording; a full one is avoided', { timeout: 30_000 }, async () => {
  const busy = new ContractRecorder('rcd_placec', 4, { claimsActive: 3 });
  const idle = new ContractRecorder('rcd_placed', 4, { claimsActive: 0 });
  try {
    await withPlacement(async (client, placement) => {
      assert.equal((await client.start(startRequest())).recorderId, 'rcd_placed');
      placement.full('rcd_placed');
      assert.equal((await client.start(startRequest())).recorderId, 'rcd_placec', 'the full one is avoided');
    });
  } finally {
    busy.close();
    idle.close();
  }
});

test('a chosen recorder that does not answer on its own subject is forgotten and the queue group decides', { timeout: 30_000 }, async () => {
  const old = new ContractRecorder('rcd_placee', 16, { ownSubject: false });
  try {
    await withPlacement(async (client, placement) => {
      assert.equal(placement.reserve(), 'rcd_placee');
      placement.release('rcd_placee');
      assert.equal((await client.start(startRequest())).recorderId, 'rcd_placee', 'reached through the queue group');
      assert.equal(placement.reserve(), undefined, 'forgotten until its next pong');
    });
  } finally {
    old.close();
  }
});

test('recorders reporting cost units are placed by the free share of their units, not by their recording count', { timeout: 30_000 }, async () => {
  // by count the first is emptier (1 of 16 against 3 of 16), but its one recording uses 80 of its 100 units
  const costly = new ContractRecorder('rcd_placeg', 16, { claimsActive: 1, units: { capacityUnits: 100, loadUnits: 80 } });
  const cheap = new ContractRecorder('rcd_placeh', 16, { claimsActive: 3, units: { capacityUnits: 100, loadUnits: 30 } });
  try {
    await withPlacement(async (client) => {
      // cheap: 70 % free, and 10 units per recording counted in after each placement: 60 %, 50 %, 40 %, 30 %,
      // 20 %; costly stays at 20 % free, so the first five go to cheap
      for (let i = 0; i < 5; i++) assert.equal((await client.start(startRequest())).recorderId, 'rcd_placeh');
    });
  } finally {
    costly.close();
    cheap.close();
  }
});
