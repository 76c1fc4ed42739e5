/**
 * Time and timers as a dependency, so that state machines run on a clock a test moves by hand. The real one
 * never keeps the process alive with a pending timer (unref): what must finish before exit is awaited by
 * whoever closes the service, not held open by a timer.
 */
export interface Clock {
  /** milliseconds since the epoch, as Date.now() */
  now(): number;
  /** runs `fn` once after `ms`; returns a function that cancels it */
  schedule(fn: () => void, ms: number): () => void;
  /** runs `fn` every `ms`; returns a function that stops it */
  every(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  every: (fn, ms) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.schedule(resolve, ms));
}
