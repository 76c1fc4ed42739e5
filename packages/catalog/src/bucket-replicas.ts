import type { Logger } from '@recstack/service-kit';
import type { NatsConnection } from 'nats';

/**
 * Opening a JetStream bucket binds an existing one as it is, so a deployment that raises NATS_KV_REPLICAS
 * (1 → 3 after moving to a cluster) would keep its buckets on one server. This raises the replica count of
 * the bucket's stream to the wanted one; it never lowers it (another service may want more, and shrinking
 * is an operator's decision). Returns the replica count the stream has afterwards.
 */
export async function ensureReplicas(nc: NatsConnection, stream: string, wanted: number, logger: Logger): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(stream);
  const current = info.config.num_replicas;
  if (current >= wanted) return current;
  await jsm.streams.update(stream, { ...info.config, num_replicas: wanted });
  logger.info({ stream, from: current, to: wanted }, 'bucket replicas raised');
  return wanted;
}
