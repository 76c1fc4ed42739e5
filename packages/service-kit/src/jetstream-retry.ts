/**
 * A JetStream stream takes no writes while it has no leader: on a NATS cluster that lost the server leading
 * it, until the others elect one (nats-server's election timeouts are 4-9 s), and while a single server
 * restarts. Such a write fails at once ("no responders", 503) or times out; the same write succeeds moments
 * later. Writes a caller waits for (a session entry, a new catalog entry) are tried again until a deadline.
 */
export interface JetStreamRetryOptions {
  /** give up (rethrow the last error) once another pause would end past this many ms from the first try */
  deadlineMs: number;
  pauseMs?: number;
  /** errors that are an answer, not an outage (a key that exists): rethrown at once */
  isFinal?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number) => void;
}

export async function retryJetStreamWrite<T>(write: (attempt: number) => Promise<T>, options: JetStreamRetryOptions): Promise<T> {
  const pauseMs = options.pauseMs ?? 250;
  const deadline = Date.now() + options.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write(attempt);
    } catch (err) {
      if (options.isFinal?.(err) || Date.now() + pauseMs >= deadline) throw err;
      options.onRetry?.(err, attempt);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
