/**
 * The wait before retry number `attempt` (1 = the first retry): exponential from `baseMs`, capped at
 * `maxMs`, with jitter in [half, full] so many failed deliveries do not all come back at once.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Whether a webhook answer is worth retrying: no answer, a server error, or "slow down". */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 408 || status === 425 || status === 429;
}

/** Seconds or an HTTP date from a Retry-After header, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
