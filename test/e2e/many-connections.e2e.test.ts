/**
 * Many producers at once through nginx: 3,000 connections to the e2e fleet's nginx
 * (127.0.0.1), each opened and holding its request (headers sent, body withheld) until all
 * are connected and a moment more (so that nginx has read every request's headers: all
 * of them are in flight at once), then each posting a batch of events. More than the old nginx could hold
 * (4,096 worker_connections for clients and upstreams together), more than its bound on
 * requests in flight (`limit_conn`): every answer must be 202, or 429/503 with
 * `Retry-After`, none a reset or a connection closed without an answer, and every event
 * answered 202 must be in intake.raw. How many get 503 depends on timing: only the set of
 * answers is asserted.
 */
import { request } from 'node:http';
import { auditDelivery } from '../support/audit';
import { testKafka } from '../support/kafka-helpers';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const CONNECTIONS = 3000;
const EVENTS_PER_BATCH = 5;
/** How long every request is held before the bodies go (nginx reads the headers meanwhile). */
const HOLD_MS = 3000;

interface Outcome {
  status: number | null;
  retryAfter: string | null;
  error: string | null;
  ids: string[];
}

interface Producer {
  /** Settles once the connection is up and the headers are sent (or it failed). */
  connected: Promise<void>;
  /** Sends the body. */
  post(): void;
  outcome: Promise<Outcome>;
}

function producer(n: number, run: string, apiKey: string): Producer {
  const ids = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => `conn-${run}-${n}-${i}`);
  const body = JSON.stringify(
    ids.map((id) => ({ id, type: 'page_view', key: `conn-${n}`, data: { path: '/' } })),
  );
  const req = request({
    host: '127.0.0.1',
    port: E2E_FLEET.httpPort,
    path: '/v1/events',
    method: 'POST',
    agent: false, // one connection per producer
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      authorization: `Bearer ${apiKey}`,
    },
  });
  let answered = false;
  const outcome = new Promise<Outcome>((resolve) => {
    req.on('response', (res) => {
      answered = true;
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'] ?? null,
          error: null,
          ids,
        }),
      );
      res.on('error', (err) =>
        resolve({ status: res.statusCode ?? 0, retryAfter: null, error: err.message, ids }),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A write after an early answer (a 503 before the body was sent) is not a failure.
      if (!answered)
        resolve({ status: null, retryAfter: null, error: err.code ?? err.message, ids });
    });
  });
  const connected = new Promise<void>((resolve) => {
    req.on('socket', (socket) => socket.once('connect', () => resolve()));
    void outcome.then(() => resolve());
  });
  req.flushHeaders();
  return {
    connected,
    post: () => {
      if (!answered) req.end(body);
    },
    outcome,
  };
}

describe('thousands of producers at once through nginx', () => {
  it(`answers each of ${CONNECTIONS} concurrent connections 202, or 429/503 with Retry-After, and loses nothing answered 202`, async () => {
    const run = Date.now().toString(36);
    const apiKey = e2eApiKey();
    const producers = Array.from({ length: CONNECTIONS }, (_, n) => producer(n, run, apiKey));
    await Promise.all(producers.map((p) => p.connected));
    await new Promise((r) => setTimeout(r, HOLD_MS));
    for (const p of producers) p.post();
    const outcomes = await Promise.all(producers.map((p) => p.outcome));

    const byStatus: Record<string, number> = {};
    for (const o of outcomes) {
      const k = o.error ? `error ${o.error}` : String(o.status);
      byStatus[k] = (byStatus[k] ?? 0) + 1;
    }
    console.log(`${CONNECTIONS} concurrent producers through nginx: ${JSON.stringify(byStatus)}`);
    // No reset, no connection closed without an answer, no other status.
    expect(Object.keys(byStatus).filter((k) => !['202', '429', '503'].includes(k))).toEqual([]);
    const refused = outcomes.filter((o) => o.status === 429 || o.status === 503);
    expect(refused.filter((o) => !/^\d+$/.test(o.retryAfter ?? ''))).toEqual([]);

    const acked = outcomes.filter((o) => o.status === 202).flatMap((o) => o.ids);
    expect(acked.length).toBeGreaterThan(0);
    const audit = await auditDelivery(testKafka(E2E_FLEET.brokers), ['intake.raw'], acked);
    expect(audit.missing).toEqual([]);
  });
});
