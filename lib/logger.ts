/**
 * The root pino logger (the only module-level singleton) and the adapter that routes
 * kafkajs logs into it. Modules take `logger.child({ module })`; fields first, message
 * second; API keys, tokens and cookies are redacted.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import { logLevel } from 'kafkajs';
import type { logCreator } from 'kafkajs';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  'token',
  'password',
  '*.apiKey',
  '*.token',
  '*.password',
];

export function createLogger(
  service: string,
  level = process.env.INTAKE_LOG_LEVEL ?? 'info',
): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs `logCreator` that writes through pino under `module: 'kafkajs'`. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const log = logger.child({ module: 'kafkajs' });
  return () =>
    ({ level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      log[LEVELS[level] ?? 'info'](fields, message);
    };
}
