import type { Recording } from '@recstack/contracts';
import type { SignalingConfig } from '../config.js';
import { isRetryableStatus, retryAfterMs } from './backoff.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signing.js';

/** WEBHOOK_* as config.ts reads them, when a webhook is configured. */
export type WebhookSettings = NonNullable<SignalingConfig['webhook']>;

export type AttemptOutcome =
  | { result: 'delivered'; status: number }
  /** no answer, a server error or "slow down": worth another attempt */
  | { result: 'retry'; status: number | undefined; retryAfterMs: number | undefined; err?: unknown }
  /** the receiver refused it (4xx): another attempt would be refused too */
  | { result: 'rejected'; status: number };

/** The id a receiver drops duplicates by: the same on every attempt and from every signaling instance. */
export function deliveryId(recording: Recording): string {
  return `${recording.id}.${recording.status}`;
}

/** One POST of the recording object to WEBHOOK_URL, signed; never throws. */
export async function postWebhook(settings: WebhookSettings, recording: Recording, attempt: number, signal: AbortSignal): Promise<AttemptOutcome> {
  const body = JSON.stringify(recording);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'recstack-signaling',
    'x-recstack-event': `recording.${recording.status}`,
    'x-recstack-delivery': deliveryId(recording),
    'x-recstack-attempt': String(attempt),
  };
  if (settings.secret) headers[SIGNATURE_HEADER] = signatureHeader(settings.secret, body, Math.floor(Date.now() / 1000));
  try {
    const response = await fetch(settings.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'error',
      signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
    });
    const status = response.status;
    const retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return { result: 'delivered', status };
    if (!isRetryableStatus(status)) return { result: 'rejected', status };
    return { result: 'retry', status, retryAfterMs: retryAfter };
  } catch (err) {
    return { result: 'retry', status: undefined, retryAfterMs: undefined, err };
  }
}
