/**
 * End to end through the real local fleet (started by `intake up --detach` in the global
 * setup): nginx on the test port, two edges, two workers, one broker. 5,000 events are
 * posted as single and batched requests; each appears exactly once in intake.processed
 * with the same id, and both edges and both workers did part of the work.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { metricValue } from '../../services/cli/fleet/probe';
import { readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const auth = (): Record<string, string> => ({ authorization: `Bearer ${e2eApiKey()}` });

const EDGE_PORTS = [E2E_FLEET.httpPort + 1, E2E_FLEET.httpPort + 2];
const WORKER_PORTS = [E2E_FLEET.workerBasePort, E2E_FLEET.workerBasePort + 1];

interface Answer {
  status: number;
  ids: string[];
  receipts: string[];
}

async function post(body: unknown): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${E2E_FLEET.baseUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify(body),
    });
    // A well-behaved client retries 503 with the same ids (a resend is idempotent by id).
    if (res.status === 503 && attempt < 5) {
      await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      continue;
    }
    const json = (await res.json()) as { accepted?: { id: string; receipt: string }[] };
    const accepted = json.accepted ?? [];
    return {
      status: res.status,
      ids: accepted.map((a) => a.id),
      receipts: accepted.map((a) => a.receipt),
    };
  }
}

async function pool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

async function counter(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return metricValue(text, name);
}

/**
 * This test's visitors: the other e2e tests share the fleet and send events of their own
 * (the load smoke keys its page views `visitor-0` to `visitor-999`), so exact scores need
 * keys no other test uses.
 */
const VISITOR = 'e2e-fleet-visitor';

describe('local fleet end to end', () => {
  it('delivers 5,000 posted events exactly once to intake.processed, with work on every edge and worker', async () => {
    const SINGLE = 1000;
    const BATCHES = 80;
    const BATCH_SIZE = 50;
    const tasks: (() => Promise<Answer>)[] = [];
    for (let i = 0; i < SINGLE; i++) {
      tasks.push(() =>
        post({
          id: `e2e-single-${i}`,
          type: 'page_view',
          key: `${VISITOR}-${i % 97}`,
          data: { path: `/p/${i}` },
        }),
      );
    }
    for (let b = 0; b < BATCHES; b++) {
      tasks.push(() =>
        post(
          Array.from({ length: BATCH_SIZE }, (_, i) => ({
            id: `e2e-batch-${b}-${i}`,
            type: 'product_view',
            key: `${VISITOR}-${(b * BATCH_SIZE + i) % 97}`,
            data: { sku: `sku-${i}` },
          })),
        ),
      );
    }
    const answers = await pool(tasks, 16);
    expect(answers.filter((a) => a.status !== 202)).toEqual([]);
    const acknowledged = answers.flatMap((a) => a.ids);
    expect(acknowledged).toHaveLength(SINGLE + BATCHES * BATCH_SIZE);

    const kafka = testKafka(E2E_FLEET.brokers);
    const wanted = new Set(acknowledged);
    const processed = await readTopic(
      kafka,
      'intake.processed',
      (messages) =>
        messages.filter((m) => wanted.has(m.headers['intake-id'] ?? '')).length >= wanted.size,
      120_000,
    );
    const counts = new Map<string, number>();
    for (const m of processed) {
      const id = m.headers['intake-id'] ?? '';
      if (wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect((JSON.parse(m.value) as { id: string }).id).toBe(id);
    }
    const missing = acknowledged.filter((id) => !counts.has(id));
    const duplicated = [...counts].filter(([, n]) => n > 1);
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);

    const edgeCounts = await Promise.all(
      EDGE_PORTS.map((p) => counter(p, 'intake_edge_events_accepted_total')),
    );
    const workerCounts = await Promise.all(
      WORKER_PORTS.map((p) => counter(p, 'intake_worker_processed_total')),
    );
    for (const n of [...edgeCounts, ...workerCounts]) expect(n).toBeGreaterThan(0);
    expect(edgeCounts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5000);
    expect(workerCounts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(5000);

    // Any edge answers for any receipt, from Kafka positions: every one ends up delivered.
    const receipts = answers.flatMap((a) => a.receipts).filter((_, i) => i % 250 === 0);
    for (const receipt of receipts) {
      for (const port of EDGE_PORTS) {
        const status = await waitFor(
          async () => {
            const res = await fetch(`http://127.0.0.1:${port}/v1/receipts/${receipt}`, {
              headers: auth(),
            });
            const body = (await res.json()) as { status: string };
            return res.status === 200 && body.status === 'delivered' ? body.status : undefined;
          },
          { timeoutMs: 30_000, what: `receipt ${receipt} delivered on port ${port}` },
        );
        expect(status).toBe('delivered');
      }
    }

    // The visitor's propensity score, computed by the workers, is readable from any edge.
    const pageViews = Array.from({ length: SINGLE }, (_, i) => i).filter(
      (i) => i % 97 === 1,
    ).length;
    const productViews = Array.from({ length: BATCHES * BATCH_SIZE }, (_, j) => j).filter(
      (j) => j % 97 === 1,
    ).length;
    const score = await waitFor(
      async () => {
        const res = await fetch(`${E2E_FLEET.baseUrl}/v1/visitors/${VISITOR}-1/score`, {
          headers: auth(),
        });
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as {
          counts: { pageViews: number; productViews: number };
          score: number;
        };
        return body.counts.pageViews === pageViews && body.counts.productViews === productViews
          ? body
          : undefined;
      },
      { timeoutMs: 30_000, what: `${VISITOR}-1 score` },
    );
    expect(score.score).toBeGreaterThan(0);
    expect(score.score).toBeLessThan(1);
    const unknown = await fetch(`${E2E_FLEET.baseUrl}/v1/visitors/nobody-at-all/score`, {
      headers: auth(),
    });
    expect(unknown.status).toBe(404);
  });

  it('answers request/response through nginx: 200 with the processed result, 504 past the timeout, 422 when the rules reject it', async () => {
    const url = `${E2E_FLEET.baseUrl}/v1/events?wait=processed`;
    const json = { 'content-type': 'application/json', ...auth() };
    // As a client does: a 503 (an edge restarted by an earlier test, not yet following
    // replies) is retried after its Retry-After; any other answer is the one to check.
    const fetch = async (input: string, init: RequestInit): Promise<Response> => {
      for (let attempt = 0; ; attempt++) {
        const res = await globalThis.fetch(input, init);
        if (res.status !== 503 || attempt >= 20) return res;
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      }
    };
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({
          id: `rr-${i}`,
          type: 'product_view',
          key: 'rr-visitor',
          data: { sku: `S${i}` },
        }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        outcome: string;
        result: { id: string; propensity: number; enriched: { worker: string } };
        position: { topic: string };
      };
      expect(body.outcome).toBe('processed');
      expect(body.result.id).toBe(`rr-${i}`);
      expect(body.result.propensity).toBeGreaterThan(0);
      expect(body.result.enriched.worker).toMatch(/^worker-/);
      expect(body.position.topic).toBe('intake.processed');
    }
    // A client may wait less than the edge's maximum: past it, 504 with the receipt, and the
    // event is durable all the same (its receipt ends up delivered).
    const slow = await fetch(`${url}&timeout=1`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        id: 'rr-timeout',
        type: 'page_view',
        key: 'rr-visitor',
        data: { path: '/' },
      }),
    });
    expect(slow.status).toBe(504);
    const timedOut = (await slow.json()) as { receipt: string; type: string };
    expect(timedOut.type).toMatch(/processing-timeout$/);
    const after = await waitFor(
      async () => {
        const res = await fetch(`${E2E_FLEET.baseUrl}/v1/receipts/${timedOut.receipt}`, {
          headers: auth(),
        });
        const body = (await res.json()) as { status: string };
        return body.status === 'delivered' ? body.status : undefined;
      },
      { timeoutMs: 30_000, what: 'the timed-out event delivered' },
    );
    expect(after).toBe('delivered');

    const bad = await fetch(url, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        type: 'add_to_cart',
        key: 'rr-visitor',
        data: { sku: 'S1', quantity: 0, price: 1 },
      }),
    });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({
      detail: expect.stringMatching(/quantity must be >= 1/),
      step: 'validate',
    });
  });

  it('answers a receipt with rejected and the reason once the workers dead-lettered the event', async () => {
    const accepted = await post({
      type: 'add_to_cart',
      key: 'rejected-visitor',
      data: { sku: 'S1', quantity: 0, price: 1 },
    });
    expect(accepted.status).toBe(202);
    const receipt = accepted.receipts[0]!;
    const body = await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${EDGE_PORTS[1]}/v1/receipts/${receipt}`, {
          headers: auth(),
        });
        const json = (await res.json()) as { status: string; reason?: string; step?: string };
        return json.status === 'rejected' ? json : undefined;
      },
      { timeoutMs: 30_000, what: 'receipt rejected' },
    );
    expect(body).toMatchObject({
      step: 'validate',
      reason: expect.stringMatching(/quantity must be >= 1/),
    });
  });

  it('accepts NDJSON and gzip through nginx, and one-way events with 204', async () => {
    const url = `${E2E_FLEET.baseUrl}/v1/events`;
    const ndjson = ['nd-1', 'nd-2', 'nd-3']
      .map((id) => JSON.stringify({ id, type: 'page_view', key: 'nd', data: { path: '/' } }))
      .join('\n');
    const nd = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', ...auth() },
      body: ndjson,
    });
    expect(nd.status).toBe(202);
    expect(((await nd.json()) as { accepted: unknown[] }).accepted).toHaveLength(3);

    const gz = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', ...auth() },
      body: gzipSync(
        JSON.stringify([{ id: 'gz-1', type: 'page_view', key: 'gz', data: { path: '/' } }]),
      ),
    });
    expect(gz.status).toBe(202);

    const oneWayIds = Array.from({ length: 50 }, (_, i) => `ow-${i}`);
    const ow = await fetch(`${url}?ack=none`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify(oneWayIds.map((id) => ({ id, type: 'telemetry', key: 'device-1' }))),
    });
    expect(ow.status).toBe(204);
    const kafka = testKafka(E2E_FLEET.brokers);
    const raw = await readTopic(
      kafka,
      'intake.raw',
      // NOTE: partitions are read concurrently: wait for every id, not only the last sent.
      (m) => {
        const ids = new Set(m.map((r) => r.headers['intake-id']));
        return [...oneWayIds, 'nd-1', 'nd-2', 'nd-3', 'gz-1'].every((id) => ids.has(id));
      },
      30_000,
    );
    const seen = new Set(raw.map((r) => r.headers['intake-id']));
    expect(oneWayIds.filter((id) => !seen.has(id))).toEqual([]);
    for (const id of ['nd-1', 'nd-2', 'nd-3', 'gz-1']) expect(seen.has(id)).toBe(true);
    const sent = await Promise.all(
      EDGE_PORTS.map((p) => counter(p, 'intake_edge_one_way_sent_total')),
    );
    expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(50);
  });

  it('serves TLS with the local certificate and keeps /metrics off the public listener', async () => {
    const ca = readFileSync(resolve(E2E_FLEET.stateDir, 'nginx', 'tls', 'cert.pem'));
    const status = await new Promise<number>((done, fail) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: E2E_FLEET.httpPort + 363,
          path: '/v1/events',
          method: 'POST',
          ca,
          headers: { 'content-type': 'application/json', ...auth() },
        },
        (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        },
      );
      req.on('error', fail);
      req.end(JSON.stringify({ type: 'page_view', key: 'tls', data: { path: '/' } }));
    });
    expect(status).toBe(202);
    const metrics = await fetch(`${E2E_FLEET.baseUrl}/metrics`);
    expect(metrics.status).toBe(404);
    expect(metrics.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers bad input through nginx with problem documents and keeps serving', async () => {
    const url = `${E2E_FLEET.baseUrl}/v1/events`;
    const json = { 'content-type': 'application/json', ...auth() };
    const cases: [RequestInit, number][] = [
      [{ method: 'POST', headers: json, body: '{"type": nope' }, 400],
      [{ method: 'POST', headers: { 'content-type': 'text/csv', ...auth() }, body: 'a,b' }, 415],
      [
        {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ type: 'big', data: 'x'.repeat(1_100_000) }),
        },
        413,
      ],
    ];
    for (const [init, status] of cases) {
      const res = await fetch(url, init);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const good = await fetch(url, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ type: 'after-bad' }),
    });
    expect(good.status).toBe(202);
    for (const port of EDGE_PORTS)
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});
