/**
 * Request/response answers, with a fake reply source (the real one is exercised end to
 * end through the fleet): 200 with the result, 422 when rejected, 504 with the receipt
 * after the timeout, 503 when the events could not be stored.
 */
import type { Server } from 'node:http';
import { IntakeError } from '../../../lib/errors';
import { createRegistry } from '../../../lib/metrics';
import type { Reply } from '../../../lib/records/reply';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { MemorySink } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';

class FakeReplies {
  isRunning = true;
  next: Omit<Reply, 'id' | 'replyTo' | 'at'> | null = null;
  expect(id: string, timeoutMs: number): Promise<Reply | null> {
    const next = this.next;
    return new Promise((resolve) =>
      next
        ? setTimeout(() => resolve({ ...next, id, replyTo: 'edge-t', at: '' }), 5)
        : setTimeout(() => resolve(null), timeoutMs),
    );
  }
  cancel(): void {}
}

describe('POST /v1/events?wait=processed', () => {
  const sink = new MemorySink();
  const replies = new FakeReplies();
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const started = await startTestApp({
      sink,
      metrics: createEdgeMetrics(createRegistry('edge', 'rr'), { inFlightBytes: () => 0 }),
      instance: 'edge-t',
      maxBodyBytes: 65536,
      maxEventsPerRequest: 10,
      defaultSource: 'test',
      respond: { instance: 'edge-t', replies, timeoutMs: 50 },
    });
    server = started.server;
    url = `${started.base}/v1/events?wait=processed`;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    sink.failWith = null;
    replies.next = null;
  });

  const post = (body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers 200 with the processed result and its downstream position, and marks the event request-response', async () => {
    replies.next = {
      outcome: 'processed',
      result: { id: 'x', score: 1 },
      position: { topic: 'intake.processed', partition: 2, offset: '7' },
    };
    const res = await post({ id: 'rr-1', type: 'page_view', data: { path: '/' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: 'rr-1',
      outcome: 'processed',
      result: { score: 1 },
      position: { topic: 'intake.processed', partition: 2, offset: '7' },
      receipt: expect.stringMatching(/^r1/),
    });
    expect(sink.stored.at(-1)).toMatchObject({
      id: 'rr-1',
      pattern: 'request-response',
      replyTo: 'edge-t',
    });
  });

  it('answers 422 with the reason when the business rules rejected the event', async () => {
    replies.next = {
      outcome: 'rejected',
      reason: 'schema add_to_cart: data/quantity must be >= 1',
      step: 'validate',
    };
    const res = await post({ type: 'add_to_cart', data: { quantity: 0 } });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({
      type: expect.stringMatching(/rejected-by-rules$/),
      detail: expect.stringMatching(/quantity/),
    });
  });

  it('answers 504 with the receipt when no reply comes in time (the event is durable)', async () => {
    const before = sink.stored.length;
    const res = await post({ id: 'slow', type: 'page_view' });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ id: 'slow', receipt: expect.stringMatching(/^r1/) });
    expect(sink.stored.length).toBe(before + 1);
  });

  it('answers an array with one result per event', async () => {
    replies.next = {
      outcome: 'processed',
      result: { ok: true },
      position: { topic: 'intake.processed', partition: 0, offset: '1' },
    };
    const res = await post([
      { id: 'a1', type: 'page_view' },
      { nope: 1 },
      { id: 'a2', type: 'page_view' },
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      results: [
        { index: 0, id: 'a1', outcome: 'processed', receipt: expect.stringMatching(/^r1/) },
        { index: 2, id: 'a2', outcome: 'processed' },
      ],
      rejected: [{ index: 1 }],
    });
  });

  it('answers 503, never 2xx, when the event cannot be stored', async () => {
    sink.failWith = new IntakeError('KAFKA_UNAVAILABLE', 'down', { retryAfterSeconds: 3 });
    const res = await post({ type: 'page_view' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
  });
});
