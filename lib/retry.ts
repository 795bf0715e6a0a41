/**
 * The one retry helper: exponential backoff with jitter, retrying only retriable errors
 * (dependency failures: `isRetriable`), never programming errors.
 *
 * `Backoff` holds the arithmetic on its own, for loops that retry without an attempt
 * limit (until their component stops): each wait is the base delay times a jitter in
 * [0.5, 1.5), and the base doubles after every wait, up to a maximum.
 */
import { isRetriable } from './errors';
import { sleep } from './lifecycle';

export interface RetryOptions {
  retries: number;
  initialMs: number;
  maxMs: number;
}

export const retryDefaults: RetryOptions = { retries: 8, initialMs: 100, maxMs: 3000 };

/**
 * For what a service reads or refreshes while it starts: a broker that has just started
 * may take tens of seconds to elect a leader for every partition, so a start waits about
 * a minute on retriable errors before it fails.
 */
export const startupRetry: Partial<RetryOptions> = { retries: 16, maxMs: 5000 };

/** Exponential backoff with jitter: `next()` gives the delay to wait now. */
export class Backoff {
  private base: number;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    this.base = initialMs;
  }

  /** The delay to wait now (base * [0.5, 1.5)); doubles the base, capped at `maxMs`. */
  next(): number {
    const delay = this.base * (0.5 + Math.random());
    this.base = Math.min(this.base * 2, this.maxMs);
    return delay;
  }

  /** Back to `initialMs`, after a success. */
  reset(): void {
    this.base = this.initialMs;
  }
}

export async function withRetry<T>(
  action: () => Promise<T>,
  options: Partial<RetryOptions> = {},
): Promise<T> {
  const { retries, initialMs, maxMs } = { ...retryDefaults, ...options };
  const backoff = new Backoff(initialMs, maxMs);
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (err) {
      if (attempt >= retries || !isRetriable(err)) throw err;
      await sleep(backoff.next());
    }
  }
}
