import { CONSUMERS, STREAMS, STREAM_SUBJECTS } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import type { SignalingMetrics } from '../metrics.js';
import { backoffDelay } from './backoff.js';
import { decodeCatalogWrite, earlierWritesFromStream, isEnding, type EarlierWrites } from './recording-endings.js';
import { deliveryId, postWebhook, type WebhookSettings } from './webhook-post.js';

/** Messages one instance works on at once (each at most one POST in flight). */
const MAX_IN_FLIGHT = 16;
/** Deliveries waiting for a retry (nak with delay) count here; beyond it the consumer pauses. */
const MAX_ACK_PENDING = 1000;
/** How long the server waits for an answer (ack/nak) beyond the POST's own timeout before redelivering. */
const ACK_WAIT_MARGIN_MS = 30_000;

export function webhookConsumerConfig(settings: WebhookSettings): Partial<ConsumerConfig> {
  return {
    durable_name: CONSUMERS.webhooks,
    filter_subject: STREAM_SUBJECTS.allRecordings,
    ack_policy: AckPolicy.Explicit,
    // the first instance ever to start begins with what comes next; the durable keeps its place from then on
    deliver_policy: DeliverPolicy.New,
    max_deliver: settings.maxAttempts,
    ack_wait: (settings.timeoutMs + ACK_WAIT_MARGIN_MS) * 1_000_000,
    max_ack_pending: MAX_ACK_PENDING,
  };
}

/**
 * Delivers the webhook of every recording that ends, from the catalog bucket's own stream: each catalog
 * write is already a JetStream message, written by whichever service made the change, so the outbox needs
 * no publisher of its own and cannot miss an ending that a crash separated from its announcement. A durable
 * pull consumer shared by every signaling instance hands each write to one of them; ends that happen while
 * no signaling runs wait in the stream. A delivery is acked only after a 2xx answer, otherwise nak'd with
 * a backoff delay, up to WEBHOOK_MAX_ATTEMPTS deliveries; then it is terminated, logged and counted.
 */
export class WebhookOutbox {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly settings: WebhookSettings,
    private readonly earlier: EarlierWrites,
    private readonly logger: Logger,
    private readonly metrics: SignalingMetrics,
  ) {}

  static async start(nc: NatsConnection, settings: WebhookSettings, logger: Logger, metrics: SignalingMetrics): Promise<WebhookOutbox> {
    const jsm = await nc.jetstreamManager();
    const config = webhookConsumerConfig(settings);
    // create-or-update: the last instance to start sets max_deliver and ack_wait for all
    await jsm.consumers.add(STREAMS.recordings, config);
    const outbox = new WebhookOutbox(nc, settings, earlierWritesFromStream(nc), logger, metrics);
    const consumer = await nc.jetstream().consumers.get(STREAMS.recordings, CONSUMERS.webhooks);
    outbox.messages = await consumer.consume({ max_messages: MAX_IN_FLIGHT });
    outbox.loop = outbox.run(outbox.messages);
    logger.info({ stream: STREAMS.recordings, consumer: CONSUMERS.webhooks, maxAttempts: settings.maxAttempts }, 'webhook outbox consuming');
    return outbox;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.abort.signal.aborted) break;
      while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
      const work = this.handle(msg)
        .catch((err: unknown) => {
          // the lookup of earlier writes failed (NATS away): the server redelivers after ack_wait, or now
          this.logger.warn({ err, seq: msg.seq }, 'webhook message not handled, redelivering');
          if (!this.abort.signal.aborted) msg.nak(this.settings.retryBaseMs);
        })
        .finally(() => this.inFlight.delete(work));
      this.inFlight.add(work);
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    this.logger.debug({ seq: msg.seq, deliveries: msg.info.redeliveryCount, closing: this.abort.signal.aborted }, 'webhook message received');
    const write = decodeCatalogWrite(msg.data, msg.headers?.get('KV-Operation') || undefined);
    if (write.kind === 'invalid') {
      this.logger.error({ seq: msg.seq, subject: msg.subject, reason: write.reason }, 'catalog write unreadable, no webhook');
      msg.term('unreadable');
      return;
    }
    if (!(await isEnding(write, msg.seq, this.earlier)) || write.kind !== 'put') {
      msg.ack();
      return;
    }
    const recording = write.recording;
    const attempt = msg.info.redeliveryCount;
    const log = this.logger.child({ sessionId: recording.sessionId, recordingId: recording.id, deliveryId: deliveryId(recording) });
    const outcome = await postWebhook(this.settings, recording, attempt, this.abort.signal);
    if (this.abort.signal.aborted) {
      // shutting down mid-POST: another instance (or this one, restarted) delivers it
      msg.nak();
      return;
    }
    if (outcome.result === 'delivered') {
      await msg.ackAck().catch((err: unknown) => log.warn({ err }, 'webhook delivered but its ack was lost; it may be delivered again'));
      this.metrics.webhookDeliveries.inc({ result: 'delivered' });
      log.info({ attempt, status: outcome.status }, 'webhook delivered');
      return;
    }
    if (outcome.result === 'rejected') {
      msg.term('rejected');
      this.metrics.webhookDeliveries.inc({ result: 'rejected' });
      log.error({ attempt, status: outcome.status }, 'webhook refused, not retrying');
      return;
    }
    if (attempt >= this.settings.maxAttempts) {
      msg.term('gave up');
      this.metrics.webhookDeliveries.inc({ result: 'failed' });
      log.error({ attempts: attempt, status: outcome.status, err: outcome.err }, 'webhook delivery gave up');
      return;
    }
    const { retryBaseMs, retryMaxMs } = this.settings;
    const waitMs = Math.min(retryMaxMs, Math.max(outcome.retryAfterMs ?? 0, backoffDelay(attempt, retryBaseMs, retryMaxMs)));
    msg.nak(waitMs);
    this.metrics.webhookDeliveries.inc({ result: 'retry' });
    log.warn({ attempt, status: outcome.status, err: outcome.err, waitMs }, 'webhook attempt unsuccessful, retrying');
  }

  /** Stops pulling; a POST in flight is abandoned and nak'd, so the message goes to another instance. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // the server must know this instance stopped pulling before the naks: a nak'd message is redelivered
      // at once, and a pull request of ours it still held would swallow it until ack_wait
      await this.messages?.close().catch(() => undefined);
      await this.nc.flush().catch(() => undefined);
      this.abort.abort();
      await Promise.allSettled([...this.inFlight]);
      await this.loop?.catch(() => undefined);
    })();
    return this.closing;
  }
}
