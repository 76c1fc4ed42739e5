import type { Middleware } from 'koa';
import { RateLimitedError } from './http-error.js';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A token bucket per key (the client's address): `perMinute` requests a minute on average, bursts of up
 * to `burst`. Buckets that have filled up again are forgotten, so memory follows the active clients.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;

  constructor(
    perMinute: number,
    private readonly burst: number = Math.max(1, Math.ceil(perMinute / 4)),
    private readonly now: () => number = Date.now,
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  /** Takes one token; returns 0 when allowed, otherwise the seconds until a token is available. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedMs: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updatedMs) * this.ratePerMs);
    bucket.updatedMs = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000));
  }

  /** Drops buckets that are full again; call it now and then. */
  sweep(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.updatedMs) * this.ratePerMs >= this.burst) this.buckets.delete(key);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Limits the requests that create or change things; reads are cheap and are not counted. */
export function rateLimitMiddleware(limiter: RateLimiter, onLimited?: () => void): Middleware {
  let calls = 0;
  return async (ctx, next) => {
    if (MUTATING.has(ctx.method)) {
      if (++calls % 1000 === 0) limiter.sweep();
      const waitSeconds = limiter.take(ctx.ip);
      if (waitSeconds > 0) {
        onLimited?.();
        throw new RateLimitedError(waitSeconds);
      }
    }
    await next();
  };
}
