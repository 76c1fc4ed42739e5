import { isTerminal, type Recording } from '@recstack/contracts';
import type { Logger } from '@recstack/service-kit';
import type { SignalingMetrics } from '../metrics.js';
import type { CatalogFeed, FeedChange } from '../recordings/catalog-feed.js';
import { backoffDelay, isRetryableStatus, retryAfterMs } from './backoff.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signing.js';

export interface WebhookSettings {
  url: string;
  secret: string | undefined;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
}

/** At most this many deliveries wait for a retry; beyond it new ones are dropped (and logged). */
const MAX_PENDING = 1000;

/**
 * POSTs the recording object to WEBHOOK_URL when a recording ends (done or failed), retrying with
 * exponential backoff. Each delivery carries `X-Recstack-Delivery: <recordingId>.<status>`, the same on
 * every attempt and from every signaling instance, so a receiver can drop duplicates.
 */
export class WebhookNotifier {
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly onChange = (change: FeedChange) => {
    if (change.type !== 'put' || !change.previous) return;
    // only an ending seen happen: a restart replaying finished recordings must not notify again
    if (isTerminal(change.recording.status) && !isTerminal(change.previous.status)) this.notify(change.recording);
  };

  constructor(
    private readonly settings: WebhookSettings,
    private readonly feed: CatalogFeed,
    private readonly logger: Logger,
    private readonly metrics: SignalingMetrics,
  ) {
    feed.on('change', this.onChange);
  }

  notify(recording: Recording): void {
    if (this.abort.signal.aborted) return;
    if (this.pending.size >= MAX_PENDING) {
      this.logger.error({ recordingId: recording.id }, 'webhook queue full, delivery dropped');
      this.metrics.webhookDeliveries.inc({ result: 'dropped' });
      return;
    }
    const delivery = this.deliver(recording).finally(() => this.pending.delete(delivery));
    this.pending.add(delivery);
  }

  private async deliver(recording: Recording): Promise<void> {
    const { url, secret, maxAttempts, retryBaseMs, retryMaxMs, timeoutMs } = this.settings;
    const body = JSON.stringify(recording);
    const deliveryId = `${recording.id}.${recording.status}`;
    const log = this.logger.child({ sessionId: recording.sessionId, recordingId: recording.id, deliveryId });
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'recstack-signaling',
        'x-recstack-event': `recording.${recording.status}`,
        'x-recstack-delivery': deliveryId,
        'x-recstack-attempt': String(attempt),
      };
      if (secret) headers[SIGNATURE_HEADER] = signatureHeader(secret, body, Math.floor(Date.now() / 1000));
      let status: number | undefined;
      let retryAfter: number | undefined;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeoutMs)]),
        });
        status = response.status;
        retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
        await response.body?.cancel().catch(() => undefined);
        if (response.ok) {
          this.metrics.webhookDeliveries.inc({ result: 'delivered' });
          log.info({ attempt, status }, 'webhook delivered');
          return;
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        log.warn({ err, attempt }, 'webhook attempt failed');
      }
      if (!isRetryableStatus(status)) {
        this.metrics.webhookDeliveries.inc({ result: 'rejected' });
        log.error({ attempt, status }, 'webhook refused, not retrying');
        return;
      }
      if (attempt === maxAttempts) break;
      this.metrics.webhookDeliveries.inc({ result: 'retry' });
      const waitMs = Math.min(retryMaxMs, Math.max(retryAfter ?? 0, backoffDelay(attempt, retryBaseMs, retryMaxMs)));
      log.warn({ attempt, status, waitMs }, 'webhook attempt unsuccessful, retrying');
      if (!(await sleep(waitMs, this.abort.signal))) return;
    }
    this.metrics.webhookDeliveries.inc({ result: 'failed' });
    log.error({ attempts: maxAttempts }, 'webhook delivery gave up');
  }

  /** Stops retrying; deliveries still waiting are dropped (they are logged). */
  async close(): Promise<void> {
    this.feed.off('change', this.onChange);
    if (this.pending.size > 0) this.logger.warn({ pending: this.pending.size }, 'webhook deliveries abandoned at shutdown');
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
