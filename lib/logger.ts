/**
 * The root pino logger (the only module-level singleton); a Kafka client's logs reach it
 * through its adapter (lib/kafka/kafkajs/log.ts). Modules take `logger.child({ module })`; fields first, message
 * second; API keys, tokens and cookies are redacted.
 */
import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-admin-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-admin-key"]',
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
