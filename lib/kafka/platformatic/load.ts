/**
 * Loads @platformatic/kafka on first use, so a service on kafkajs does not carry it.
 * NOTE: the package is ESM only; Node >= 20.19 loads it with require() (jest transforms it
 * to CommonJS: jest.config.js).
 */
import { createRequire } from 'node:module';
import type * as PlatformaticModule from '@platformatic/kafka' with { 'resolution-mode': 'import' };

export type { PlatformaticModule as Platformatic };

let loaded: typeof PlatformaticModule | null = null;

export const platformatic = (): typeof PlatformaticModule => {
  if (!loaded) {
    loaded = createRequire(__filename)('@platformatic/kafka') as typeof PlatformaticModule;
    guardUnknownBroker(loaded);
  }
  return loaded;
};

/**
 * A call for a broker the cluster's metadata does not hold fails with the package's
 * retriable `NetworkError`, as a call to an unreachable broker does. NOTE: 1.35 looks a
 * group's coordinator (and a partition's leader) up in the metadata and asks its pool for
 * `undefined` when that broker is missing from it (restarting, in a rolling restart of the
 * cluster); the pool then throws a TypeError inside a callback, which no caller can catch
 * and which ends the process. 2.x does the same lookup (and needs Node 22).
 */
function guardUnknownBroker(m: typeof PlatformaticModule): void {
  type Get = (broker: unknown, callback?: (error: Error | null) => void) => unknown;
  const pool = m.ConnectionPool.prototype as unknown as { get: Get };
  const get = pool.get;
  pool.get = function guardedGet(this: unknown, broker, callback) {
    if (broker) return get.call(this, broker, callback);
    const error = new m.NetworkError('the broker is not in the cluster metadata (restarting?)');
    if (!callback) return Promise.reject(error);
    callback(error);
    return undefined;
  };
}

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
