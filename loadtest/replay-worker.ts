// One of the harness's worker processes: hosts a few dozen replay publishers, paced by one shared timer.
import { ensureReplayMedia, ReplayPublisher, startUdpRelay, WhipRefusedError, type ReplayMedia, type UdpRelay } from '@recstack/testkit';
import type { FromWorker, ToWorker } from './replay-protocol.js';
import { replayStart } from './replay-start.js';

/** the pacing timer: packets of a frame go out together, frames within a few ms of their time */
const PUMP_MS = 5;

let media: ReplayMedia | undefined;
let init: Extract<ToWorker, { type: 'init' }> | undefined;
const publishers = new Map<number, ReplayPublisher>();
const relays = new Map<string, Promise<UdpRelay>>();

const send = (message: FromWorker) => process.send?.(message);

async function route(target: { host: string; port: number }): Promise<{ host: string; port: number } | undefined> {
  if (!init?.impairment) return undefined;
  const key = `${target.host}:${target.port}`;
  const i = init.impairment;
  const relay = relays.get(key) ?? startUdpRelay({ target, upstream: i, downstream: i, seed: 1 + init.workerIndex });
  relays.set(key, relay);
  const r = await relay;
  return { host: r.host, port: r.port };
}

async function publish(msg: Extract<ToWorker, { type: 'publish' }>): Promise<void> {
  if (!media || !init) throw new Error('publish before init');
  const t0 = performance.now();
  const { startFrame, startDelayMs, phaseShiftMs } = replayStart(media, msg.id, msg.alignEpochMs);
  const publisher = new ReplayPublisher({
    media,
    startFrame,
    startDelayMs,
    phaseShiftMs,
    honourPli: init.honourPli,
    pacingKbps: init.pacingKbps,
    loopbackOnly: init.loopbackOnly,
    whip: { url: init.whipUrl, ...(init.token ? { token: init.token } : {}) },
    route,
  });
  publishers.set(msg.id, publisher);
  try {
    await publisher.start();
    send({ type: 'published', id: msg.id, sessionId: publisher.sessionId ?? '', location: publisher.location ?? '', connectMs: performance.now() - t0 });
  } catch (err) {
    publishers.delete(msg.id);
    await publisher.stop().catch(() => undefined);
    const refused = err instanceof WhipRefusedError ? err : undefined;
    send({
      type: 'publish-failed',
      id: msg.id,
      status: refused?.status,
      code: refused?.code ?? 'PUBLISH_FAILED',
      message: (err as Error).message,
      retryAfterSeconds: refused?.retryAfterSeconds,
    });
  }
}

process.on('message', (raw: ToWorker) => {
  switch (raw.type) {
    case 'init':
      init = raw;
      void ensureReplayMedia(raw.cacheDir, raw.spec).then((m) => {
        media = m;
        send({ type: 'ready' });
      });
      return;
    case 'publish':
      void publish(raw);
      return;
    case 'snapshot':
      send({ type: 'snapshot', requestId: raw.requestId, stats: publishers.get(raw.id)?.snapshot() });
      return;
    case 'unpublish': {
      const p = publishers.get(raw.id);
      publishers.delete(raw.id);
      void (p ? p.stop().then(() => p.snapshot()) : Promise.resolve(undefined)).then((stats) => send({ type: 'unpublished', id: raw.id, stats }));
      return;
    }
    case 'relay-stats':
      void Promise.all([...relays.values()]).then((rs) =>
        send({ type: 'relay-stats', requestId: raw.requestId, upstream: rs.map((r) => ({ ...r.upstream })), downstream: rs.map((r) => ({ ...r.downstream })) }),
      );
      return;
    case 'exit':
      void Promise.all([...publishers.values()].map((p) => p.stop().catch(() => undefined)))
        .then(() => Promise.all([...relays.values()].map(async (r) => (await r).close())))
        .finally(() => process.exit(0));
      return;
  }
});

setInterval(() => {
  const now = performance.now();
  for (const p of publishers.values()) p.pump(now);
}, PUMP_MS);
// the parent went away: nothing left to publish for
process.on('disconnect', () => process.exit(0));
// one publisher's stray error (werift raises some asynchronously, e.g. on a socket closed under it) must not
// take the few dozen others of this process with it; each distinct message is said once
const said = new Set<string>();
const tell = (err: unknown) => {
  const text = err instanceof Error ? err.message : String(err);
  if (said.has(text)) return;
  said.add(text);
  process.stderr.write(`replay worker ${init?.workerIndex ?? '?'}: ${text}\n`);
};
process.on('uncaughtException', tell);
process.on('unhandledRejection', tell);
