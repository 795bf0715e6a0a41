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
    guardAbortMarkers(loaded);
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

/** A Fetch API call of the package: its last argument is the callback of the answer. */
type FetchApi = (...args: unknown[]) => unknown;
type FetchAnswer = {
  responses: {
    partitions: {
      abortedTransactions?: { producerId: bigint; firstOffset: bigint }[] | null;
      records?:
        | {
            attributes: number;
            producerId: bigint;
            firstOffset: bigint;
            records: { key?: Buffer | null }[];
          }[]
        | null;
    }[];
  }[];
};
const ABORT = 0;

/**
 * A `read_committed` fetch answer may hold the abort marker of a transaction it does not
 * list as aborted (one begun before the fetch offset); the package's own filter of aborted
 * records then throws a TypeError inside its callbacks, which ends the process (1.35;
 * platformatic/kafka#391, fixed in 2.x, which needs Node 22). Every Fetch API call of the
 * package's clients is wrapped: such a marker gets an entry of its own that begins at the
 * marker, so the filter drops nothing for it (its records were before the fetch offset),
 * and neither does this adapter's (`toBatch`).
 */
function guardAbortMarkers(m: typeof PlatformaticModule): void {
  type GetApi = (name: string, callback: (error: Error | null, api?: FetchApi) => void) => void;
  const base = m.Base.prototype as unknown as Record<symbol, GetApi>;
  const getApi = base[m.kGetApi]!;
  base[m.kGetApi] = function guardedGetApi(this: unknown, name, callback) {
    if (name !== 'Fetch') return getApi.call(this, name, callback);
    return getApi.call(this, name, (error, api) =>
      callback(error, api && !error ? listAbortMarkers(api, m.IS_CONTROL) : api),
    );
  };
}

/** The Fetch API call, its answers completed (see `guardAbortMarkers`). */
function listAbortMarkers(api: FetchApi, isControl: number): FetchApi {
  return (...args: unknown[]) => {
    const callback = args.at(-1) as (error: unknown, answer?: FetchAnswer) => void;
    return api(...args.slice(0, -1), (error: unknown, answer?: FetchAnswer) => {
      if (!error && answer) {
        for (const topic of answer.responses)
          for (const part of topic.partitions) {
            const listed = part.abortedTransactions;
            if (!listed?.length || !part.records) continue;
            for (const batch of part.records) {
              if (!(batch.attributes & isControl)) continue;
              const key = batch.records[0]?.key;
              if (!key || key.length < 4 || key.readInt16BE(2) !== ABORT) continue;
              if (listed.some((t) => t.producerId === batch.producerId)) continue;
              listed.push({ producerId: batch.producerId, firstOffset: batch.firstOffset });
            }
          }
      }
      callback(error, answer);
    });
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
