/**
 * The small lifecycle every long-lived component exposes, and the signal handling each
 * service's `main.ts` uses to run its shutdown order exactly once.
 */
import type { Logger } from './logger';

export interface Health {
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface Component {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
}

/** Bounds every service's shutdown; deployments size their grace periods from it. */
export const shutdownDefaults = { forceAfterMs: 30_000 };

/**
 * Runs `shutdown` once on SIGTERM or SIGINT, then exits 0 (1 if shutdown failed). A
 * second signal exits at once with 1; `forceAfterMs` bounds a stuck shutdown.
 */
export function handleShutdownSignals(
  logger: Logger,
  shutdown: (signal: string) => Promise<void>,
  forceAfterMs = shutdownDefaults.forceAfterMs,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second_signal_exiting_now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutdown_started');
    const force = setTimeout(() => {
      logger.error({ forceAfterMs }, 'shutdown_timed_out');
      process.exit(1);
    }, forceAfterMs);
    force.unref();
    shutdown(signal).then(
      () => {
        logger.info('shutdown_complete');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown_failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Logs and exits on a startup failure, with the message an operator needs. */
export function exitOnStartupFailure(logger: Logger, err: unknown): never {
  logger.fatal({ err }, 'startup_failed');
  logger.flush();
  process.exit(1);
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `work`, or a rejection with `timedOut()` once `ms` passed first. `work` itself is not
 * stopped: the caller makes its late outcome harmless (closes what it used, fences it).
 */
export function within<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
