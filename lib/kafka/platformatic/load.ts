/**
 * Loads @platformatic/kafka on first use, so a service on kafkajs does not carry it.
 * NOTE: the package is ESM only; Node >= 20.19 loads it with require() (jest transforms it
 * to CommonJS: jest.config.js).
 */
import { createRequire } from 'node:module';
import type * as PlatformaticModule from '@platformatic/kafka' with { 'resolution-mode': 'import' };

export type { PlatformaticModule as Platformatic };

let loaded: typeof PlatformaticModule | null = null;

export const platformatic = (): typeof PlatformaticModule =>
  (loaded ??= createRequire(__filename)('@platformatic/kafka') as typeof PlatformaticModule);

/** How a client of this package reaches the cluster (one per producer or admin client). */
export interface Connection {
  clientId: string;
  brokers: string[];
  /** Per request (ms). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Retries of one request inside the client. */
  retries?: number;
}

/** The package's base options of a client from a `Connection`. */
export function baseOptions(c: Connection): {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  timeout: number;
  retries: number;
  retryDelay: number;
} {
  return {
    clientId: c.clientId,
    bootstrapBrokers: c.brokers,
    connectTimeout: c.connectTimeoutMs ?? 3000,
    timeout: c.requestTimeoutMs ?? 10_000,
    retries: c.retries ?? 5,
    retryDelay: 100,
  };
}
