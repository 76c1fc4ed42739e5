import type { NatsConnection } from 'nats';
import type { MediaClient } from './backends/media-client.js';
import type { RecorderClient } from './backends/recorder-client.js';

export interface Readiness {
  ready: boolean;
  checks: { nats: boolean; media: number; recorders: number };
}

/**
 * Ready means signaling can do its job: NATS answers a round trip, and at least one media and one
 * recorder instance answer their ping.
 */
export function readinessCheck(nc: NatsConnection, media: MediaClient, recorders: RecorderClient, maxWaitMs = 500): () => Promise<Readiness> {
  return async () => {
    const nats = !nc.isClosed() && (await withTimeout(nc.flush().then(() => true), maxWaitMs, false));
    if (!nats) return { ready: false, checks: { nats, media: 0, recorders: 0 } };
    const [mediaPongs, recorderPongs] = await Promise.all([media.ping(maxWaitMs).catch(() => []), recorders.ping(maxWaitMs).catch(() => [])]);
    const checks = { nats, media: mediaPongs.length, recorders: recorderPongs.length };
    return { ready: checks.media > 0 && checks.recorders > 0, checks };
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.catch(() => fallback),
    new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
  ]).finally(() => clearTimeout(timer));
}
