/**
 * Waiting in tests: one way to wait for something to happen (`waitFor`), one way to let time pass (`sleep`).
 * A test waits for a condition, never for a guessed delay: `sleep` is only for proving that something does NOT happen
 * within a window (say so in a comment where it is used), or where elapsed time is itself the point.
 */

export interface WaitOptions<T> {
  /** Holds when the wait is over (default: the value read is truthy). */
  until?: (value: T) => boolean;
  /** Give up after this many ms (default 10 s). No timing is asserted: the deadline only ends a hang. */
  timeout?: number;
  /** Poll every this many ms (default 20). */
  interval?: number;
  /** What is waited for, named in the failure. */
  message?: string;
}

/**
 * Poll `read` until `until(value)` holds (or the value is truthy) and resolve with that value. Fails with `message`
 * and the last value seen; a read that throws fails the wait at once.
 */
export async function waitFor<T>(read: () => T | Promise<T>, options: WaitOptions<T> = {}): Promise<T> {
  const { until = (v: T) => Boolean(v), timeout = 10_000, interval = 20, message = 'a condition' } = options;
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await read();
    if (until(value)) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeout} ms waiting for ${message}; last: ${JSON.stringify(value)?.slice(0, 2000)}`,
      );
    await sleep(interval);
  }
}

/** Let `ms` pass. Only where a real delay is the point: a window in which something must NOT happen, or elapsed time. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
