/**
 * The edge's front door, in process with an in-memory sink: NDJSON and gzip, visitor ids,
 * API keys (401/403), the rate limit (429 + Retry-After), CORS preflight, one-way (204 and
 * its drop counter), and a corpus of bad inputs: each gets its status and problem type,
 * and a good request right after still succeeds; memory does not grow across 10,000 bad
 * requests.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { createRegistry } from '../../../lib/metrics';
import { parseApiKeys } from '../../../services/edge/http/auth';
import { createApp } from '../../../services/edge/app';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { OneWayQueue } from '../../../services/edge/one-way-queue';
import { MemorySink, chunkedBody, silentLogger } from '../../support/fakes';

const KEY = 'test-key-0123456789';
const SLOW_KEY = 'slow-key-0123456789';

async function listen(deps: Partial<Parameters<typeof createApp>[0]> = {}) {
  const sink = new MemorySink();
  const metrics = createEdgeMetrics(createRegistry('edge', 'hard'), { inFlightBytes: () => 0 });
  const oneWay = new OneWayQueue({
    sink,
    maxEvents: 5,
    batchSize: 100,
    logger: silentLogger(),
    onDrop: (n, reason) => metrics.eventsDropped.inc({ reason }, n),
  });
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics,
    instance: 'edge-hard',
    maxBodyBytes: 64 * 1024,
    maxEventsPerRequest: 100,
    defaultSource: 'default',
    isDraining: () => false,
    oneWay,
    auth: {
      required: true,
      keys: parseApiKeys([`web:${KEY}`, `!old:disabled-key`, `slow:${SLOW_KEY}`]),
      rateLimit: { perSecond: 1000, burst: 100_000 },
    },
    corsOrigins: ['https://shop.example'],
    ...deps,
  });
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  return {
    sink,
    metrics,
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

describe('edge front door', () => {
  let ctx: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    ctx = await listen();
  });
  afterAll(async () => new Promise((r) => ctx.server.close(r)));

  const post = (body: string | Buffer, headers: Record<string, string> = {}, query = '') =>
    fetch(`${ctx.base}/v1/events${query}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    });

  it('accepts NDJSON, reporting bad lines by index', async () => {
    const body = '{"type":"a","key":"v"}\n\nnot json\n{"type":"b","key":"v"}\n';
    const res = await post(body, { 'content-type': 'application/x-ndjson' });
    expect(res.status).toBe(202);
    const json = (await res.json()) as {
      accepted: { index: number }[];
      rejected: { index: number; reason: string }[];
    };
    expect(json.accepted.map((a) => a.index)).toEqual([0, 2]);
    expect(json.rejected).toEqual([{ index: 1, reason: expect.stringMatching(/not valid JSON/) }]);
  });

  it('rejects a batch event over the per-event limit as an item, accepting the others', async () => {
    const limited = await listen({
      bodyLimits: { maxDepth: 32, maxRatio: 100, maxEventBytes: 1000 },
    });
    const body = JSON.stringify([
      { type: 'big', key: 'v', data: 'x'.repeat(2000) },
      { type: 'small', key: 'v' },
    ]);
    const res = await fetch(`${limited.base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      accepted: [{ index: 1 }],
      rejected: [{ index: 0, reason: expect.stringMatching(/larger than 1000 bytes/) }],
    });
    await new Promise((r) => limited.server.close(r));
  });

  it('accepts gzip, and refuses a gzip bomb by its expansion ratio', async () => {
    expect(
      (
        await post(gzipSync(JSON.stringify({ type: 'z', key: 'v' })), {
          'content-encoding': 'gzip',
        })
      ).status,
    ).toBe(202);
    const bomb = gzipSync(JSON.stringify({ type: 'z', data: 'a'.repeat(60_000) }));
    const res = await post(bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ detail: expect.stringMatching(/expands/) });
  });

  /** A gzip-encoded JSON body, sent chunked (no Content-Length) in pieces of 16 bytes. */
  const postChunkedGzip = (zipped: Buffer) =>
    fetch(`${ctx.base}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        authorization: `Bearer ${KEY}`,
      },
      ...chunkedBody(zipped, 16),
    });

  it('refuses a chunked gzip bomb (no Content-Length) by its expansion ratio too', async () => {
    const bomb = gzipSync(JSON.stringify({ type: 'z', key: 'v', data: 'a'.repeat(60_000) }));
    const res = await postChunkedGzip(bomb);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ detail: expect.stringMatching(/expands/) });
  });

  it('accepts a chunked gzip body within the ratio: every compressed byte is counted', async () => {
    // Half incompressible, half repeated: the ratio is below 100 only if every chunk counts.
    const noise = randomBytes(300).toString('base64');
    const body = Buffer.from(
      JSON.stringify({ type: 'z', key: 'v', data: noise + 'b'.repeat(30_000) }),
    );
    const zipped = gzipSync(body);
    expect(body.length / zipped.length).toBeGreaterThan(40);
    expect(body.length / zipped.length).toBeLessThan(100);
    const before = ctx.sink.stored.length;
    const res = await postChunkedGzip(zipped);
    expect(res.status).toBe(202);
    expect(ctx.sink.stored.length).toBe(before + 1);
  });

  it('assigns a visitor id when the request has none, returns it, and uses it as the key', async () => {
    const res = await post(JSON.stringify({ type: 'page_view' }));
    const body = (await res.json()) as { visitorId: string };
    expect(body.visitorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('set-cookie')).toMatch(
      new RegExp(`intake_vid=${body.visitorId};.*HttpOnly`),
    );
    expect(ctx.sink.stored.at(-1)?.key).toBe(body.visitorId);
    const again = await post(JSON.stringify({ type: 'page_view' }), {
      cookie: `intake_vid=${body.visitorId}`,
    });
    expect(((await again.json()) as { visitorId: string }).visitorId).toBe(body.visitorId);
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('takes the source from the API key, and answers 401 / 403 otherwise', async () => {
    await post(JSON.stringify({ type: 'sourced', key: 'v' }), {
      authorization: '',
      'x-api-key': KEY,
    });
    expect(ctx.sink.stored.at(-1)?.source).toBe('web');
    const none = await post('{"type":"a"}', { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect((await post('{"type":"a"}', { authorization: 'Bearer nope' })).status).toBe(403);
    const disabled = await post('{"type":"a"}', { authorization: 'Bearer disabled-key' });
    expect(disabled.status).toBe(403);
    expect(await disabled.json()).toMatchObject({ detail: expect.stringMatching(/disabled/) });
  });

  it('rate-limits per key with 429 and Retry-After', async () => {
    const limited = await listen({
      auth: {
        required: true,
        keys: parseApiKeys([`slow:${SLOW_KEY}`]),
        rateLimit: { perSecond: 1, burst: 3 },
      },
    });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${limited.base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': SLOW_KEY },
        body: '{"type":"a","key":"v"}',
      });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    await new Promise((r) => limited.server.close(r));
  });

  it('answers a CORS preflight from an allowed origin without a key, and not for others', async () => {
    const pre = (origin: string) =>
      fetch(`${ctx.base}/v1/events`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
    const ok = await pre('https://shop.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const other = await pre('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers one-way at once with 204 and counts what the full queue drops', async () => {
    const events = JSON.stringify(
      Array.from({ length: 20 }, (_, i) => ({ type: 'telemetry', key: `d${i}` })),
    );
    const res = await post(events, {}, '?ack=none');
    expect(res.status).toBe(204);
    const metrics = await ctx.metrics.registry.getSingleMetricAsString(
      'intake_edge_events_dropped_total',
    );
    expect(metrics).toMatch(/reason="queue-full"[^\n]* 15/);
  });

  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const corpus: [string, string | Buffer, Record<string, string>, number, string][] = [
    ['malformed JSON', '{"type":', {}, 400, 'malformed-json'],
    ['trailing garbage', '{"type":"a"} x', {}, 400, 'malformed-json'],
    ['single quotes', "{'type':'a'}", {}, 400, 'malformed-json'],
    ['bare word', 'hello', {}, 400, 'malformed-json'],
    ['truncated array', '[{"type":"a"}', {}, 400, 'malformed-json'],
    ['NaN literal', '{"type":"a","data":NaN}', {}, 400, 'malformed-json'],
    ['comment', '{"type":"a"} // hi', {}, 400, 'malformed-json'],
    ['empty body', '', {}, 400, 'bad-request'],
    ['whitespace body', '   \n ', {}, 400, 'bad-request'],
    ['empty array', '[]', {}, 400, 'bad-request'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), {}, 400, 'bad-request'],
    ['deep nesting', `{"type":"a","data":${deep(100)}}`, {}, 422, 'invalid-events'],
    [
      '__proto__ key',
      '{"type":"a","data":{"__proto__":{"polluted":1}}}',
      {},
      422,
      'invalid-events',
    ],
    [
      'constructor key',
      '{"type":"a","data":{"constructor":{"prototype":1}}}',
      {},
      422,
      'invalid-events',
    ],
    ['prototype key', '{"type":"a","data":{"prototype":1}}', {}, 422, 'invalid-events'],
    ['number out of range', '{"type":"a","data":1e999}', {}, 422, 'invalid-events'],
    ['no type', '{"data":1}', {}, 422, 'invalid-events'],
    ['empty type', '{"type":""}', {}, 422, 'invalid-events'],
    ['numeric type', '{"type":5}', {}, 422, 'invalid-events'],
    ['huge type', JSON.stringify({ type: 't'.repeat(500) }), {}, 422, 'invalid-events'],
    ['numeric id', '{"type":"a","id":7}', {}, 422, 'invalid-events'],
    ['empty id', '{"type":"a","id":""}', {}, 422, 'invalid-events'],
    ['object key', '{"type":"a","key":{}}', {}, 422, 'invalid-events'],
    ['bad ts', '{"type":"a","ts":"yesterday"}', {}, 422, 'invalid-events'],
    ['unknown field', '{"type":"a","payload":1}', {}, 422, 'invalid-events'],
    ['a string event', '"just a string"', {}, 422, 'invalid-events'],
    ['null event', 'null', {}, 422, 'invalid-events'],
    ['a number event', '42', {}, 422, 'invalid-events'],
    ['array of garbage', '[1, "x", null, []]', {}, 422, 'invalid-events'],
    [
      'NDJSON of garbage',
      'x\ny\n',
      { 'content-type': 'application/x-ndjson' },
      422,
      'invalid-events',
    ],
    [
      'oversized body',
      JSON.stringify({ type: 'a', data: 'x'.repeat(70_000) }),
      {},
      413,
      'payload-too-large',
    ],
    [
      'too many events',
      JSON.stringify(Array.from({ length: 101 }, () => ({ type: 'a' }))),
      {},
      413,
      'payload-too-large',
    ],
    ['text/html', '{"type":"a"}', { 'content-type': 'text/html' }, 415, 'unsupported-media-type'],
    [
      'form encoded',
      'type=a',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'unsupported-media-type',
    ],
    ['no content type', '{"type":"a"}', { 'content-type': '' }, 415, 'unsupported-media-type'],
    [
      'unknown encoding',
      '{"type":"a"}',
      { 'content-encoding': 'compress' },
      415,
      'unsupported-media-type',
    ],
    ['bogus gzip', 'not gzip at all', { 'content-encoding': 'gzip' }, 400, 'bad-request'],
    [
      'latin1 charset',
      '{"type":"a"}',
      { 'content-type': 'application/json; charset=latin1' },
      415,
      'unsupported-media-type',
    ],
    ['NUL after the JSON', '{"type":"a"}\u0000', {}, 400, 'malformed-json'],
    ['missing key', '{"type":"a"}', { authorization: '' }, 401, 'unauthorized'],
    ['wrong key', '{"type":"a"}', { authorization: 'Bearer wrong' }, 403, 'forbidden'],
  ];

  it(`has a corpus of at least 40 bad inputs`, () =>
    expect(corpus.length).toBeGreaterThanOrEqual(40));

  it.each(corpus)(
    'answers %s clearly and keeps serving',
    async (_name, body, headers, status, type) => {
      const res = await post(body, headers);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { type: string }).type).toMatch(new RegExp(`/${type}$`));
      expect((await post(JSON.stringify({ type: 'good-after-bad', key: 'v' }))).status).toBe(202);
    },
  );

  it('does not grow memory across 10,000 bad requests', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const bad = corpus.map(([, body, headers]) => [body, headers] as const);
    const run = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            post(...bad[(i + j) % bad.length]!).then((r) => r.arrayBuffer()),
          ),
        );
      }
    };
    await run(1000); // warm up
    gc();
    const before = process.memoryUsage().heapUsed;
    await run(10_000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(30 * 1024 * 1024);
  }, 180_000);
});
