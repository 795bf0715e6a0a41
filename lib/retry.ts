/**
 * The one retry helper: exponential backoff with jitter, retrying only retriable errors
 * (dependency failures: `isRetriable`), never programming errors.
 */
import { isRetriable } from './errors';
import { sleep } from './lifecycle';

export interface RetryOptions {
  retries: number;
  initialMs: number;
  maxMs: number;
}

export const retryDefaults: RetryOptions = { retries: 8, initialMs: 100, maxMs: 3000 };

export async function withRetry<T>(
  action: () => Promise<T>,
  options: Partial<RetryOptions> = {},
): Promise<T> {
  const { retries, initialMs, maxMs } = { ...retryDefaults, ...options };
  let delay = initialMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (err) {
      if (attempt >= retries || !isRetriable(err)) throw err;
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, maxMs);
    }
  }
}
