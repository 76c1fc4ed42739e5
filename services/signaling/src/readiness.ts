import type { NatsConnection } from 'nats';
import type { MediaClient } from './backends/media-client.js';
import type { RecorderClient } from './backends/recorder-client.js';

export interface BackendStatus {
  /** media instances: how many answer, and the sessions they hold against their capacity */
  media: { instances: number; sessions: number; capacity: number };
  /** recorders: how many answer, and their running recordings against their capacity */
  recorders: { instances: number; active: number; capacity: number };
}

export interface Readiness {
  /** signaling can serve: NATS answers (downloads, the page, the catalog). Backends do not decide it */
  ready: boolean;
  checks: { nats: boolean; media: number; recorders: number };
  backends: BackendStatus;
}

const NONE: BackendStatus = { media: { instances: 0, sessions: 0, capacity: 0 }, recorders: { instances: 0, active: 0, capacity: 0 } };

/**
 * Ready means signaling can serve: NATS answers a round trip. Whether media and recorders are there (and
 * how much room they have) is reported, not required: a recorder outage must not take downloads and the
 * page off the load balancer; publishing and recording then fail with their own clear errors.
 */
export function readinessCheck(nc: NatsConnection, media: MediaClient, recorders: RecorderClient, maxWaitMs = 500): () => Promise<Readiness> {
  return async () => {
    const nats =
      !nc.isClosed() &&
      (await withTimeout(
        nc.flush().then(() => true),
        maxWaitMs,
        false,
      ));
    if (!nats) return { ready: false, checks: { nats, media: 0, recorders: 0 }, backends: NONE };
    const [mediaPongs, recorderPongs] = await Promise.all([media.ping(maxWaitMs).catch(() => []), recorders.ping(maxWaitMs).catch(() => [])]);
    const backends: BackendStatus = {
      media: { instances: mediaPongs.length, sessions: sum(mediaPongs.map((p) => p.sessions)), capacity: sum(mediaPongs.map((p) => p.capacity)) },
      recorders: { instances: recorderPongs.length, active: sum(recorderPongs.map((p) => p.active)), capacity: sum(recorderPongs.map((p) => p.capacity)) },
    };
    return { ready: true, checks: { nats, media: mediaPongs.length, recorders: recorderPongs.length }, backends };
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise.catch(() => fallback), new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
