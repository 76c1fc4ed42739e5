import { setTimeout as sleep } from 'node:timers/promises';

/** A pending `Clock.after` callback. */
export interface Timer {
  cancel(): void;
}

/**
 * Time as the recorder's state logic sees it (recording jobs, the service, its finisher): injected, so unit
 * tests drive stop, timeout and deadline paths with a fake clock instead of waiting for them.
 */
export interface Clock {
  /** epoch milliseconds */
  now(): number;
  /** runs `fn` once after `ms`; a pending timer never keeps the process alive */
  after(ms: number, fn: () => void): Timer;
  /** resolves after `ms`; never keeps the process alive */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
  sleep: (ms) => sleep(ms, undefined, { ref: false }),
};
