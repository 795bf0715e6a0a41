/**
 * The e2e fleet with HML workers (`INTAKE_LOGGING=hml`): request/response answers (200, and
 * 422 when the business rules reject the event), receipts and the score lookup work as with SBML, now that the workers' outputs appear only when
 * their transaction commits; a retried event (same id) is processed once. The workers
 * switch to HML for this file and back to SBML after it.
 */
import { Analytics } from '@segment/analytics-node';
import { cli } from '../support/fleet-setup';
import { setWorkerLogging, workerLogging } from '../support/fleet-logging';
import { readToEnd, testKafka, waitFor } from '../support/kafka-helpers';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const headers = (): Record<string, string> => ({
  'content-type': 'application/json',
  authorization: `Bearer ${e2eApiKey()}`,
});

/** As a client does: a 503 (a worker or edge not yet following) is retried after its Retry-After. */
async function send(path: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${E2E_FLEET.baseUrl}${path}`, { ...init, headers: headers() });
    if (res.status !== 503 || attempt >= 20) return res;
    await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
  }
}

/** Request/response: one event, answered once the workers processed it. */
const sendAndWait = (event: Record<string, unknown>): Promise<Response> =>
  send('/v1/events?wait=processed', { method: 'POST', body: JSON.stringify(event) });

const run = Date.now().toString(36);

beforeAll(async () => {
  await setWorkerLogging(E2E_FLEET.stateDir, 'hml', (name) => cli('restart', name));
  expect(workerLogging(E2E_FLEET.stateDir)).toBe('hml');
}, 120_000);

afterAll(async () => {
  await setWorkerLogging(E2E_FLEET.stateDir, 'sbml', (name) => cli('restart', name));
}, 120_000);

describe('the fleet with HML workers', () => {
  it('answers wait=processed with the processed event, and its score lookup and receipt follow', async () => {
    const visitor = `hml-visitor-${run}`;
    for (let i = 0; i < 3; i++) {
      const res = await sendAndWait({
        id: `hml-rr-${run}-${i}`,
        type: 'product_view',
        key: visitor,
        data: { sku: `S${i}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { outcome: string; result: { id: string } };
      expect(body).toMatchObject({ outcome: 'processed', result: { id: `hml-rr-${run}-${i}` } });
    }
    const score = await waitFor(
      async () => {
        const res = await send(`/v1/visitors/${visitor}/score`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { score: number; counts: { productViews: number } };
        return body.counts.productViews === 3 ? body : undefined;
      },
      { timeoutMs: 30_000, what: 'the score of three product views' },
    );
    expect(score.score).toBeGreaterThan(0);

    const accepted = await send('/v1/events', {
      method: 'POST',
      body: JSON.stringify({
        id: `hml-ack-${run}`,
        type: 'page_view',
        key: visitor,
        data: { path: '/' },
      }),
    });
    expect(accepted.status).toBe(202);
    const { accepted: list } = (await accepted.json()) as { accepted: { receipt: string }[] };
    const status = await waitFor(
      async () => {
        const res = await send(`/v1/receipts/${list[0]!.receipt}`);
        const body = (await res.json()) as { status: string };
        return body.status === 'delivered' ? body.status : undefined;
      },
      { timeoutMs: 30_000, what: 'the receipt delivered' },
    );
    expect(status).toBe('delivered');
  });

  it('answers wait=processed with 422 when the rules reject the event, and dead-letters it once', async () => {
    const id = `hml-rejected-${run}`;
    const res = await sendAndWait({
      id,
      type: 'add_to_cart',
      key: `hml-rejected-${run}`,
      data: { sku: 'S1', quantity: 0, price: 1 },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      detail: expect.stringMatching(/quantity must be >= 1/),
      step: 'validate',
    });
    // The answer came from the worker's committed transaction: the dead letter is there, once,
    // and nothing of the event reached intake.processed.
    const out = await readToEnd(testKafka(E2E_FLEET.brokers), ['intake.dlq', 'intake.processed']);
    const mine = out.filter((m) => m.headers['intake-id'] === id);
    expect(mine.map((m) => m.topic)).toEqual(['intake.dlq']);
  });

  it('processes an event retried with the same id once', async () => {
    const id = `hml-retried-${run}`;
    for (let i = 0; i < 3; i++) {
      const res = await sendAndWait({
        id,
        type: 'page_view',
        key: `hml-retry-${run}`,
        data: { path: '/' },
      });
      const body = (await res.json()) as { outcome: string; reason?: string };
      // The first is processed; the retries are answered as duplicates, not processed again.
      if (i === 0) expect(body.outcome).toBe('processed');
      else
        expect(body).toMatchObject({
          outcome: 'dropped',
          reason: expect.stringMatching(/^duplicate/),
        });
    }
    const processed = await readToEnd(testKafka(E2E_FLEET.brokers), ['intake.processed']);
    expect(processed.filter((m) => m.headers['intake-id'] === id)).toHaveLength(1);
  });

  it('shows a Segment batch re-sent with the same messageIds once to a read_committed reader', async () => {
    // analytics-node sends the batch; the same request is sent again, as the SDK does
    // after an answer it did not get
    const analytics = new Analytics({
      writeKey: e2eApiKey(),
      host: E2E_FLEET.baseUrl,
      flushAt: 5,
    });
    const sent: { body: string; headers: Record<string, string> }[] = [];
    analytics.on('http_request', (r) => sent.push({ body: r.body, headers: r.headers }));
    const ids = Array.from({ length: 5 }, (_, i) => `hml-segment-${run}-${i}`);
    for (const messageId of ids)
      analytics.track({ userId: `hml-seg-${run}`, event: 'Resent', messageId });
    await analytics.closeAndFlush({ timeout: 30_000 });
    expect(sent).toHaveLength(1);
    const again = await fetch(`${E2E_FLEET.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: sent[0]!.headers,
      body: sent[0]!.body,
    });
    expect(again.status).toBe(200);

    // one key, one partition, processed in order: once a marker sent after the resend is
    // out, the resent messages were processed (or dropped) before it
    const marker = `hml-segment-${run}-marker`;
    const markerAnswer = await fetch(`${E2E_FLEET.baseUrl}/v1/track`, {
      method: 'POST',
      headers: sent[0]!.headers,
      body: JSON.stringify({ userId: `hml-seg-${run}`, event: 'Marker', messageId: marker }),
    });
    expect(markerAnswer.status).toBe(200);
    const kafka = testKafka(E2E_FLEET.brokers);
    const processed = await waitFor(
      async () => {
        const all = await readToEnd(kafka, ['intake.processed']);
        return all.some((m) => m.headers['intake-id'] === marker) && all;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'the marker in intake.processed' },
    );
    const mine = processed
      .map((m) => m.headers['intake-id'] ?? '')
      .filter((id) => ids.includes(id));
    expect(mine.sort()).toEqual([...ids].sort());
  });
});
