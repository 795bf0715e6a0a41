/**
 * Builds the worker's processing (`processing.ts`) where the configuration says
 * (`INTAKE_WORKER_PROCESSING_THREAD`, `config.ts`).
 */
import type { Logger } from '../../../lib/logger';
import type { ProcessingThread } from '../../../lib/config';
import { buildLocalProcessing } from './local-processing';
import type { ProcessingSettings } from './local-processing';
import type { Processing } from './processing';
import { ThreadProcessing } from './thread-processing';

export async function createProcessing(options: {
  thread: ProcessingThread;
  settings: ProcessingSettings;
  logger: Logger;
  onFailure: (err: Error) => void;
}): Promise<Processing> {
  const { thread, settings, logger } = options;
  const processing =
    thread === 'on'
      ? await ThreadProcessing.start({ settings, onFailure: options.onFailure })
      : buildLocalProcessing(settings, logger);
  logger.info({ where: processing.where }, 'processing_started');
  return processing;
}
