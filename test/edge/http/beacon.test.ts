/**
 * The beacon path of `POST /v1/events`: text/plain bodies (what `navigator.sendBeacon`
 * sends cross-origin without a preflight) holding JSON or NDJSON, the key in the query or
 * in the body, CORS for the configured origins; the rest of the body contract unchanged
 * (per-item results, limits, 503 when not durable).
 */
import { gzipSync } from 'node:zlib';
import { IntakeError } from '../../../lib/errors';
import { parseApiKeys } from '../../../services/edge/http/auth';
import { readBeacon } from '../../../services/edge/http/beacon';
import { MemorySink, chunkedBody } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';

const KEY = 'browser-key-0123456789';
const ORIGIN = 'https://shop.example';

describe('beacon path', () => {
  let app: TestApp;
  let sink: MemorySink;
  beforeEach(async () => {
    sink = new MemorySink();
    app = await startTestApp({
      sink,
      auth: {
        required: true,
        keys: parseApiKeys([`web:${KEY}`]),
        rateLimit: { perSecond: 1000, burst: 1000 },
      },
      corsOrigins: [ORIGIN],
    });
  });
  afterEach(() => app.close());

  const beacon = (
    body: string | Buffer,
    query = `?api_key=${KEY}`,
    headers: Record<string, string> = {},
  ) =>
    fetch(`${app.base}/v1/events${query}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: ORIGIN, ...headers },
    });

  it('accepts a JSON array as text/plain with the key in the query, 202 with per-item results', async () => {
    const res = await beacon(
      JSON.stringify([
        { id: 'b-1', type: 'page_view', key: 'v1' },
        { nope: true },
        { id: 'b-2', type: 'add_to_cart', key: 'v1', data: { sku: 'S1' } },
      ]),
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const body = (await res.json()) as { accepted: { index: number; id: string }[]; rejected: [] };
    expect(body.accepted.map((a) => [a.index, a.id])).toEqual([
      [0, 'b-1'],
      [2, 'b-2'],
    ]);
    expect(body.rejected).toHaveLength(1);
    expect(sink.stored.map((e) => [e.id, e.source])).toEqual([
      ['b-1', 'web'],
      ['b-2', 'web'],
    ]);
  });

  it('accepts text/plain without a charset, holding one event', async () => {
    const res = await beacon('{"id":"one","type":"page_view"}', `?api_key=${KEY}`, {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(202);
    expect(sink.stored.map((e) => e.id)).toEqual(['one']);
  });

  it('reads a text/plain body that is not one JSON value as NDJSON, bad lines by index', async () => {
    const res = await beacon('{"id":"n1","type":"a"}\nnot json\n{"id":"n2","type":"b"}\n');
    expect(res.status).toBe(202);
    const body = (await res.json()) as { rejected: { index: number }[] };
    expect(body.rejected.map((r) => r.index)).toEqual([1]);
    expect(sink.stored.map((e) => e.id)).toEqual(['n1', 'n2']);
  });

  it('takes the key from a JSON body ({api_key, events}) and counts indices in events', async () => {
    const res = await beacon(
      JSON.stringify({ api_key: KEY, events: [{ type: 'x' }, { id: 'k2', type: 'y' }] }),
      '',
    );
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: { index: number; id: string }[] };
    expect(body.accepted.map((a) => a.index)).toEqual([0, 1]);
    expect(sink.stored[1]).toMatchObject({ id: 'k2', source: 'web', type: 'y' });
  });

  it('takes the key from a first NDJSON line', async () => {
    const res = await beacon(
      `{"api_key":"${KEY}"}\n{"id":"l1","type":"a"}\n{"id":"l2","type":"b"}`,
      '',
    );
    expect(res.status).toBe(202);
    expect(sink.stored.map((e) => e.id)).toEqual(['l1', 'l2']);
  });

  it('answers 401 without a key, 403 with a wrong one (in the body too), storing nothing', async () => {
    expect((await beacon('{"type":"a"}', '')).status).toBe(401);
    expect((await beacon('{"type":"a"}', '?api_key=wrong')).status).toBe(403);
    expect(
      (await beacon(JSON.stringify({ api_key: 'wrong', events: { type: 'a' } }), '')).status,
    ).toBe(403);
    expect(sink.stored).toHaveLength(0);
  });

  it('answers 400 for a body key without events, or a key that is not a string', async () => {
    const noEvents = await beacon(JSON.stringify({ api_key: KEY }), '');
    expect(noEvents.status).toBe(400);
    expect(noEvents.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await beacon(JSON.stringify({ api_key: 5, events: [] }), '')).status).toBe(400);
  });

  it('keeps the limits: a body over the limit is 413, a non-UTF-8 charset 415, gzip works', async () => {
    const big = await beacon(
      JSON.stringify([{ type: 'a', data: 'x'.repeat(70 * 1024) }]),
      `?api_key=${KEY}`,
    );
    expect(big.status).toBe(413);
    const latin = await beacon('{"type":"a"}', `?api_key=${KEY}`, {
      'content-type': 'text/plain; charset=latin1',
    });
    expect(latin.status).toBe(415);
    const zipped = await beacon(gzipSync('{"id":"z","type":"a"}'), `?api_key=${KEY}`, {
      'content-encoding': 'gzip',
    });
    expect(zipped.status).toBe(202);
    expect(sink.stored.map((e) => e.id)).toEqual(['z']);
  });

  it('refuses a chunked gzip bomb (no Content-Length) by its expansion ratio', async () => {
    const bomb = gzipSync(JSON.stringify({ type: 'a', data: 'x'.repeat(60_000) }));
    const res = await fetch(`${app.base}/v1/events?api_key=${KEY}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', 'content-encoding': 'gzip' },
      ...chunkedBody(bomb, 16),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ detail: expect.stringMatching(/expands/) });
    expect(sink.stored).toHaveLength(0);
  });

  it('never answers 2xx when the events are not durable', async () => {
    sink.failWith = new IntakeError('KAFKA_UNAVAILABLE', 'down', { retryAfterSeconds: 3 });
    const res = await beacon('{"type":"a"}');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Retry-After/);
  });

  it('answers the preflight of an application/json request from an allowed origin only', async () => {
    const pre = (origin: string) =>
      fetch(`${app.base}/v1/events`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const ok = await pre(ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect((await pre('https://other.example')).headers.get('access-control-allow-origin')).toBe(
      null,
    );
  });
});

describe('readBeacon', () => {
  it.each([
    ['an event', '{"type":"a"}', 'json'],
    ['an array', '[{"type":"a"}]', 'json'],
    ['pretty-printed JSON', '{\n  "type": "a"\n}', 'json'],
    ['NDJSON', '{"type":"a"}\n{"type":"b"}', 'ndjson'],
    ['a broken body', '{"type":', 'ndjson'],
  ])('reads %s', (_name, text, kind) => {
    expect(readBeacon(text)).toEqual({ kind });
  });

  it('leaves a first NDJSON line with more than the key as an event', () => {
    expect(readBeacon('{"api_key":"k","type":"a"}\n{"type":"b"}')).toEqual({ kind: 'ndjson' });
  });
});
