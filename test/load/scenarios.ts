/**
 * The load-test scenarios: each an open-model (constant arrival rate) load on one of the
 * edge's ingest modes, with the thresholds that make the runner fail when the fleet
 * degrades: the share of failed requests (anything but 2xx/3xx, or no answer), the p99
 * latency, and the achieved rate against the target (k6's "dropped iterations": requests
 * the generator could not start on time because `MAX_WORKERS` were all waiting).
 *
 * The default rates are the ones that pass against `npm run up` (2 edges, 2 workers, one
 * broker) on a 2-core machine shared with other work; RATE and DURATION override them.
 */
export interface Thresholds {
  /** Failed requests (or events, for the stream) / all, at most. */
  failedRate: number;
  /** p99 latency in ms, at most (for the stream: send -> acknowledged). */
  p99Ms: number;
  /** Achieved rate / target rate, at least. */
  minRateRatio: number;
}

export interface Scenario {
  name: string;
  description: string;
  kind: 'http' | 'stream';
  /** Path and query on BASE_URL. */
  path: string;
  /** Events per request (1: a single JSON object). */
  batch: number;
  /** Requests/s (stream: events/s) and seconds, unless RATE / DURATION say otherwise. */
  rate: number;
  seconds: number;
  thresholds: Thresholds;
}

const base = { failedRate: 0.01, minRateRatio: 0.95 };

export const SCENARIOS: Scenario[] = [
  {
    name: 'ack-single',
    description: 'request/acknowledge, one event per request (202 once Kafka acked, acks=all)',
    kind: 'http',
    path: '/v1/events',
    batch: 1,
    rate: 200,
    seconds: 30,
    thresholds: { ...base, p99Ms: 500 },
  },
  {
    name: 'ack-batched',
    description: 'request/acknowledge, batches of 50 events per request',
    kind: 'http',
    path: '/v1/events',
    batch: 50,
    rate: 40,
    seconds: 30,
    thresholds: { ...base, p99Ms: 1000 },
  },
  {
    name: 'request-response',
    description: 'request/response (?wait=processed): the answer waits for the worker',
    kind: 'http',
    path: '/v1/events?wait=processed',
    batch: 1,
    rate: 50,
    seconds: 30,
    thresholds: { ...base, p99Ms: 1000 },
  },
  {
    name: 'one-way',
    description: 'one-way (?ack=none): 204 at once, written in the background',
    kind: 'http',
    path: '/v1/events?ack=none',
    batch: 1,
    rate: 300,
    seconds: 30,
    thresholds: { ...base, p99Ms: 250 },
  },
  {
    name: 'stream',
    description: 'WebSocket streaming (/v1/stream) with the bundled client, events/s',
    kind: 'stream',
    path: '/v1/stream',
    batch: 1,
    rate: 1000,
    seconds: 30,
    thresholds: { ...base, p99Ms: 1000 },
  },
  {
    name: 'soak',
    description: 'request/acknowledge single events at a steady rate for 10 minutes',
    kind: 'http',
    path: '/v1/events',
    batch: 1,
    rate: 100,
    seconds: 600,
    thresholds: { ...base, p99Ms: 500 },
  },
];

/** The event a scenario sends (~300 B as JSON). */
export function loadEvent(i: number): Record<string, unknown> {
  return {
    type: 'page_view',
    key: `visitor-${i % 1000}`,
    data: {
      path: `/products/${i}`,
      referrer: 'https://example.com/search?q=load+test',
      title: 'A product page of the load test',
      viewport: { width: 1280, height: 800 },
      campaign: 'load-test',
    },
  };
}

export function requestBody(batch: number): string {
  return batch === 1
    ? JSON.stringify(loadEvent(1))
    : JSON.stringify(Array.from({ length: batch }, (_, i) => loadEvent(i)));
}
