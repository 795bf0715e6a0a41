import type { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { IntakeError } from '../../../lib/errors';
import { createRegistry } from '../../../lib/metrics';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { MemorySink } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';

const PROBLEM = 'application/problem+json';

describe('edge HTTP app', () => {
  let server: Server;
  let base: string;
  let sink: MemorySink;
  let draining = false;

  beforeAll(async () => {
    sink = new MemorySink();
    const started = await startTestApp({
      sink,
      metrics: createEdgeMetrics(createRegistry('edge', 'test'), { inFlightBytes: () => 0 }),
      instance: 'edge-test',
      maxEventsPerRequest: 100,
      defaultSource: 'test',
      isDraining: () => draining,
    });
    server = started.server;
    base = `${started.base}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    sink.failWith = null;
    sink.stored.length = 0;
    draining = false;
  });

  const post = (
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => fetch(`${base}/v1/events`, { method: 'POST', body, headers });

  async function expectProblem(res: Response, status: number, type: string): Promise<void> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain(PROBLEM);
    const body = (await res.json()) as { type: string; status: number; detail: string };
    expect(body.type).toMatch(new RegExp(`/${type}$`));
    expect(body.status).toBe(status);
    expect(body.detail.length).toBeGreaterThan(0);
  }

  it('answers 202 with the id of one stored event', async () => {
    const res = await post(JSON.stringify({ type: 'page_view', id: 'e-1', key: 'v1' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      accepted: [{ index: 0, id: 'e-1', receipt: expect.stringMatching(/^r1/) }],
      rejected: [],
    });
    expect(sink.stored.map((e) => e.id)).toEqual(['e-1']);
  });

  it('accepts the valid items of an array and lists the invalid ones', async () => {
    const res = await post(JSON.stringify([{ type: 'a' }, { nope: 1 }, { type: 'b', id: 'x' }]));
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      accepted: { index: number }[];
      rejected: { index: number }[];
    };
    expect(body.accepted.map((a) => a.index)).toEqual([0, 2]);
    expect(body.rejected.map((r) => r.index)).toEqual([1]);
    expect(sink.stored).toHaveLength(2);
  });

  it('accepts a gzip-encoded body', async () => {
    const res = await post(gzipSync(JSON.stringify({ type: 'z' })), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(202);
  });

  it('answers 422 when no item is valid', async () => {
    await expectProblem(await post(JSON.stringify([{ a: 1 }, 5])), 422, 'invalid-events');
  });

  it.each([
    ['malformed JSON', '{"type":', 400, 'malformed-json'],
    ['truncated array', '[{"type":"a"}', 400, 'malformed-json'],
    ['empty array', '[]', 400, 'bad-request'],
  ])('answers %s with a problem', async (_name, body, status, type) => {
    await expectProblem(await post(body), status, type);
  });

  it('answers 415 for a non-JSON content type or none', async () => {
    await expectProblem(
      await post('type=a', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported-media-type',
    );
    // a Buffer body: fetch adds no content type (a string would go as text/plain)
    await expectProblem(await post(Buffer.from('{"type":"a"}'), {}), 415, 'unsupported-media-type');
    await expectProblem(
      await post('{"type":"a"}', {
        'content-type': 'application/json',
        'content-encoding': 'compress',
      }),
      415,
      'unsupported-media-type',
    );
  });

  it('answers 413 for an oversized body and for too many events', async () => {
    await expectProblem(
      await post(JSON.stringify({ type: 'a', data: 'x'.repeat(70_000) })),
      413,
      'payload-too-large',
    );
    const many = JSON.stringify(Array.from({ length: 101 }, () => ({ type: 'a' })));
    await expectProblem(await post(many), 413, 'payload-too-large');
  });

  it('answers 503 with Retry-After, never 202, when the sink cannot make events durable', async () => {
    sink.failWith = new IntakeError('KAFKA_UNAVAILABLE', 'down', { retryAfterSeconds: 7 });
    const res = await post(JSON.stringify({ type: 'a' }));
    expect(res.headers.get('retry-after')).toBe('7');
    await expectProblem(res, 503, 'kafka-unavailable');
    sink.failWith = new IntakeError('OVERLOADED', 'full', { retryAfterSeconds: 2 });
    await expectProblem(await post(JSON.stringify({ type: 'a' })), 503, 'overloaded');
  });

  it('keeps serving good requests after bad ones', async () => {
    for (let i = 0; i < 50; i++) await post('{bad');
    const res = await post(JSON.stringify({ type: 'after' }));
    expect(res.status).toBe(202);
  });

  it('reports not-ready while draining, and 404 as a problem', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    draining = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await expectProblem(await fetch(`${base}/nope`), 404, 'not-found');
  });

  it('exposes Prometheus metrics with accepted counts', async () => {
    await post(JSON.stringify({ type: 'counted' }));
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/intake_edge_events_accepted_total\{[^}]*\} [1-9]/);
  });
});
