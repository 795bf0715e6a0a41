/** Routes kafkajs' logs into the service's pino logger, under `module: 'kafkajs'`. */
import { logLevel } from 'kafkajs';
import type { logCreator } from 'kafkajs';
import type { Logger } from '../../logger';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function kafkaLogCreator(logger: Logger): logCreator {
  const log = logger.child({ module: 'kafkajs' });
  return () =>
    ({ level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      log[LEVELS[level] ?? 'info'](fields, message);
    };
}
