/**
 * Builds the worker's processing (`processing.ts`) where the configuration says
 * (`INTAKE_WORKER_PROCESSING_THREAD`, `config.ts`).
 *
 * `auto` (the default) gives SBML workers with more than one core the thread: there the
 * consumer's thread, which also appends the outbound log, tracks its entries and sends,
 * is what bounds the worker, and handing the processing off frees it. HML workers, and
 * workers on one core, process on the consumer's thread: an HML chunk waits for its
 * transaction, and the hand-over both ways then costs more than it frees
 * (docs/performance.md, "The processing thread by default with SBML").
 */
import type { Logger } from '../../../lib/logger';
import type { ProcessingThread } from '../../../lib/config';
import type { WorkerLogging } from '../config';
import { availableCores } from './cores';
import { buildLocalProcessing } from './local-processing';
import type { ProcessingSettings } from './local-processing';
import type { Processing } from './processing';
import { ThreadProcessing } from './thread-processing';

/** Whether chunks are processed on a thread of their own. */
export function usesThread(
  thread: ProcessingThread,
  logging: WorkerLogging,
  cores: number,
): boolean {
  if (thread !== 'auto') return thread === 'on';
  return logging === 'sbml' && cores > 1;
}

export async function createProcessing(options: {
  thread: ProcessingThread;
  logging: WorkerLogging;
  settings: ProcessingSettings;
  logger: Logger;
  onFailure: (err: Error) => void;
  /** The cores the worker may use (default: `availableCores()`). */
  cores?: number;
}): Promise<Processing> {
  const { thread, logging, settings, logger } = options;
  const cores = options.cores ?? availableCores();
  const processing = usesThread(thread, logging, cores)
    ? await ThreadProcessing.start({ settings, onFailure: options.onFailure })
    : buildLocalProcessing(settings, logger);
  logger.info({ where: processing.where, setting: thread, logging, cores }, 'processing_started');
  return processing;
}
