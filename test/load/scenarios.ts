/**
 * The load-test scenarios, read from scenarios.json: the one definition both runners use,
 * the vegeta runner (run.ts, what the test suite runs) and the k6 scripts in k6/ (what
 * users run; they `open()` the same file), so the two cannot drift. Each is an open-model
 * (constant arrival rate) load on one of the edge's ingest modes, with the thresholds that
 * make a run fail when the fleet degrades: the share of failed requests (anything but
 * 2xx/3xx, or no answer), the p99 latency, and whether the generator kept up with the
 * arrival rate.
 *
 * That last one is measured the way each generator can: k6 counts `dropped_iterations`
 * (iterations it could not start on time because `maxVUs` were all busy) against
 * `maxDropped`; vegeta starts a due request late instead of dropping it, so the vegeta
 * runner compares its achieved rate with the target (`minRateRatio`).
 *
 * The default rates are the ones that pass against `npm run up` (2 edges, 2 workers, one
 * broker) on a 2-core machine shared with other work; RATE and DURATION override them.
 */
import definitions from './scenarios.json';

export interface Thresholds {
  /** Failed requests (or events, for the stream) / all, at most. */
  failedRate: number;
  /** p99 latency in ms, below (for the stream: sent -> acknowledged). */
  p99Ms: number;
  /** Achieved rate / target rate, at least (the vegeta runner). */
  minRateRatio: number;
  /** Iterations k6 could not start on time, at most (k6's `dropped_iterations`). */
  maxDropped: number;
}

export interface Scenario {
  name: string;
  description: string;
  kind: 'http' | 'stream';
  /** Path and query on BASE_URL. */
  path: string;
  /**
   * Events per request (1: a single JSON object). For the stream: events per k6
   * iteration (one WebSocket message); the vegeta runner's client batches on its own.
   */
  batch: number;
  /** Requests/s (stream: events/s) and seconds, unless RATE / DURATION say otherwise. */
  rate: number;
  seconds: number;
  thresholds: Thresholds;
}

export const SCENARIOS = definitions.scenarios as Scenario[];

/** Concurrent requests at most, unless MAX_WORKERS says otherwise (k6: `maxVUs`). */
export const MAX_WORKERS: number = definitions.maxWorkers;

/** The event a scenario sends (~300 B as JSON): the template, numbered by `i`. */
export function loadEvent(i: number): Record<string, unknown> {
  const e = definitions.event;
  return { ...e, key: `visitor-${i % 1000}`, data: { ...e.data, path: `/products/${i}` } };
}

export function requestBody(batch: number): string {
  return batch === 1
    ? JSON.stringify(loadEvent(1))
    : JSON.stringify(Array.from({ length: batch }, (_, i) => loadEvent(i)));
}
