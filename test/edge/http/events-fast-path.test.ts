/**
 * `POST /v1/events` answered before the router (events-fast-path.ts) and by the routed
 * path (a request with `Content-Encoding: identity` takes it) must be the same answer:
 * status, problem documents, cookies and headers; one rate-limit budget per key across
 * both; the request counter labels both `/v1/events`; a body shorter than declared is
 * the body parser's 400. All of it on the edge's server (app-server.ts, whose requests are
 * made with express' prototypes) and on a plain one (`app.listen`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import express from 'express';
import { createRegistry } from '../../../lib/metrics';
import { appServer, listen as listenOn } from '../../../services/edge/http/app-server';
import { installEventsFastPath } from '../../../services/edge/http/events-fast-path';
import { createApp } from '../../../services/edge/app';
import { parseApiKeys } from '../../../services/edge/http/auth';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { MemorySink, silentLogger } from '../../support/fakes';

const KEY = 'fast-key-0123456789';

type ServerKind = 'edge server' | 'app.listen';

async function listen(opts: { burst?: number; cors?: string[]; server?: ServerKind } = {}) {
  const sink = new MemorySink();
  const metrics = createEdgeMetrics(createRegistry('edge', 'fast'), { inFlightBytes: () => 0 });
  const app = createApp({
    sink,
    logger: silentLogger(),
    metrics,
    instance: 'edge-fast',
    maxBodyBytes: 4096,
    maxEventsPerRequest: 10,
    defaultSource: 'default',
    isDraining: () => false,
    auth: {
      required: true,
      keys: parseApiKeys([`web:${KEY}`]),
      rateLimit: { perSecond: 0.001, burst: opts.burst ?? 1000 },
    },
    corsOrigins: opts.cors,
    accessLog: 'errors',
  });
  const server: Server =
    opts.server === 'app.listen'
      ? await new Promise((r) => {
          const s = app.listen(0, '127.0.0.1', () => r(s));
        })
      : await listenOn(appServer(app), 0, '127.0.0.1');
  return { sink, metrics, server, port: (server.address() as AddressInfo).port };
}

type Edge = Awaited<ReturnType<typeof listen>>;
const close = (e: Edge) => new Promise((r) => e.server.close(r));

/** The same request, by the fast path and by the routed path. */
async function both(e: Edge, body: string, headers: Record<string, string> = {}) {
  const send = (extra: Record<string, string>) =>
    fetch(`http://127.0.0.1:${e.port}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${KEY}`,
        ...headers,
        ...extra,
      },
      body,
    });
  return [await send({}), await send({ 'content-encoding': 'identity' })] as const;
}

/** What must not differ between the two paths (ids, receipts and dates do). */
async function shape(res: Response) {
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    requestId: res.headers.get('x-request-id') !== null,
    cookie: res.headers
      .get('set-cookie')
      ?.replace(/=[^;]+;/, '=*;')
      .replace(/Expires=[^;]+/, 'Expires=*'),
    cors: res.headers.get('access-control-allow-origin'),
    www: res.headers.get('www-authenticate'),
    body: text.replace(/"(id|receipt|visitorId)":"[^"]+"/g, '"$1":"*"'),
  };
}

describe.each<ServerKind>(['edge server', 'app.listen'])(
  'POST /v1/events before the router, on %s',
  (server) => {
    it('answers as the routed path: accepted, rejected, problems, cookies', async () => {
      const e = await listen({ server });
      const cases: [string, Record<string, string>][] = [
        ['{"type":"a","key":"v"}', {}],
        ['[{"type":"a"},{"nope":1},{"type":"b","data":{"x":[1,2]}}]', {}],
        ['{"type":"a"}', { cookie: 'intake_vid=visitor_1' }],
        ['{"type":', {}],
        ['[]', {}],
        ['[{"nope":1}]', {}],
        [JSON.stringify(Array.from({ length: 11 }, () => ({ type: 'a' }))), {}],
        ['{"type":"a"}', { authorization: 'Bearer wrong' }],
        ['{"type":"a"}', { authorization: '' }],
        ['{"type":"a"}', { 'content-type': 'application/json; charset=latin1' }],
        ['{"type":"a"}\n{"type":"b"}\nnot json\n', { 'content-type': 'application/x-ndjson' }],
        [Buffer.from([0xff, 0xfe]).toString('latin1'), {}],
      ];
      for (const [body, headers] of cases) {
        const [fast, routed] = await both(e, body, headers);
        expect({ request: body, ...(await shape(fast)) }).toEqual({
          request: body,
          ...(await shape(routed)),
        });
      }
      expect(e.sink.stored.length).toBeGreaterThan(0);
      await close(e);
    });

    it('answers as the routed path with CORS configured', async () => {
      const e = await listen({ cors: ['https://shop.example'], server });
      for (const origin of ['https://shop.example', 'https://other.example']) {
        const [fast, routed] = await both(e, '{"type":"a","key":"v"}', { origin });
        expect(await shape(fast)).toEqual(await shape(routed));
        expect(fast.headers.get('vary')).toBe(routed.headers.get('vary'));
      }
      await close(e);
    });

    it('shares one rate-limit budget per key with the routed path', async () => {
      const e = await listen({ burst: 3, server });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const [fast, routed] = await both(e, '{"type":"a","key":"v"}');
        statuses.push(fast.status, routed.status);
      }
      expect(statuses).toEqual([202, 202, 202, 429, 429, 429]);
      await close(e);
    });

    it('counts its requests under the route /v1/events', async () => {
      const e = await listen({ server });
      await both(e, '{"type":"a","key":"v"}');
      const text = await e.metrics.registry.metrics();
      expect(text).toMatch(
        /intake_edge_requests_total\{[^}]*route="\/v1\/events"[^}]*status="202"[^}]*\} 2/,
      );
      expect(text).not.toMatch(/route="unmatched"/);
      await close(e);
    });

    it('answers 400 when the body ends before its declared length, storing nothing', async () => {
      const e = await listen({ server });
      const short = (extra: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(e.port, '127.0.0.1', () => {
            socket.write(
              'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                `Authorization: Bearer ${KEY}\r\n${extra}Content-Length: 100\r\n\r\n{"type":"a"}`,
            );
            socket.end(); // half-close: the server sees the body end short
          });
          let text = '';
          socket.on('data', (d: Buffer) => (text += d.toString()));
          socket.on('end', () => resolve(text));
          socket.on('error', reject);
        });
      expect(await short('')).toMatch(/^HTTP\/1\.1 400/);
      expect(await short('Content-Encoding: identity\r\n')).toMatch(/^HTTP\/1\.1 400/);
      expect(e.sink.stored).toEqual([]);
      await close(e);
    });

    it(`sets the request's and response's prototypes only when the server did not (${server})`, async () => {
      const e = await listen({ server });
      const setPrototypeOf = jest.spyOn(Object, 'setPrototypeOf');
      try {
        const fast = await fetch(`http://127.0.0.1:${e.port}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
          body: '{"type":"a","key":"v"}',
        });
        expect(fast.status).toBe(202);
        expect(setPrototypeOf).toHaveBeenCalledTimes(server === 'edge server' ? 0 : 2);
      } finally {
        setPrototypeOf.mockRestore();
        await close(e);
      }
    });
  },
);

describe('installEventsFastPath: which requests it takes', () => {
  it('takes plain POST /v1/events bodies of an events type within the limit; hands on the rest', async () => {
    const app = express();
    installEventsFastPath(app, {
      maxBodyBytes: 100,
      events: (req, res) => {
        res.json({ path: 'fast', body: (req.body as Buffer).toString() });
      },
      onError: (_err, _req, res) => {
        res.status(500).json({ path: 'fast', error: true });
      },
    });
    app.use((_req, res) => {
      res.json({ path: 'routed' });
    });
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = async (path: string, body: string | Buffer, headers: Record<string, string>) => {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers, body });
      return (await res.json()) as { path: string; body?: string };
    };
    const json = { 'content-type': 'application/json' };
    expect(await post('/v1/events', '{"type":"a"}', json)).toEqual({
      path: 'fast',
      body: '{"type":"a"}',
    });
    expect((await post('/v1/events', 'x\n', { 'content-type': 'application/x-ndjson' })).path).toBe(
      'fast',
    );
    for (const [path, body, headers] of [
      ['/v1/events?ack=none', '{}', json],
      ['/v1/events/', '{}', json],
      ['/v1/stream', '{}', json],
      ['/v1/events', 'x'.repeat(101), json],
      ['/v1/events', '{}', { 'content-type': 'text/plain' }],
      ['/v1/events', '{}', { ...json, 'content-encoding': 'identity' }],
    ] as const) {
      const answer = await post(path, body, headers);
      expect({ url: path, headers, answer }).toEqual({
        url: path,
        headers,
        answer: { path: 'routed' },
      });
    }
    const chunked = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: json,
      body: new Blob(['{}']).stream(),
      duplex: 'half',
    });
    expect(await chunked.json()).toEqual({ path: 'routed' });
    await new Promise((r) => server.close(r));
  });

  it('answers by the error handler when a handler before the route throws', async () => {
    const app = express();
    installEventsFastPath(app, {
      maxBodyBytes: 100,
      auth: () => {
        throw new Error('key store down');
      },
      events: (_req, res) => {
        res.json({ path: 'fast' });
      },
      onError: (err: Error, _req, res) => {
        res.status(500).json({ error: err.message });
      },
    });
    const server: Server = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    const port = (server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"a"}',
    });
    expect([res.status, await res.json()]).toEqual([500, { error: 'key store down' }]);
    await new Promise((r) => server.close(r));
  });
});

describe('the read window in front of the fast path', () => {
  async function windowed(maxWaitMs: number) {
    const sink = new MemorySink();
    const app = createApp({
      sink,
      logger: silentLogger(),
      metrics: createEdgeMetrics(createRegistry('edge', 'window'), { inFlightBytes: () => 0 }),
      instance: 'edge-window',
      maxBodyBytes: 4096,
      maxEventsPerRequest: 10,
      defaultSource: 'default',
      isDraining: () => false,
      readWindow: { bytes: 1000, maxWaitMs },
    });
    const server = await listenOn(appServer(app), 0, '127.0.0.1');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
    const post = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"type":"page_view"}',
      });
    return { sink, server, post };
  }

  it('reads a body only once the sink’s queue drained, then answers 202', async () => {
    const e = await windowed(10_000);
    e.sink.queued = 5000; // more than the window: the next body waits
    let answered = false;
    const pending = e.post().then((res) => {
      answered = true;
      return res;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false);
    expect(e.sink.stored).toHaveLength(0);
    e.sink.dequeue();
    const res = await pending;
    expect(res.status).toBe(202);
    expect(e.sink.stored.map((s) => s.type)).toEqual(['page_view']);
    await new Promise((r) => e.server.close(r));
  });

  it('does not let a client that never sends its declared body hold the window', async () => {
    const e = await windowed(300);
    const port = (e.server.address() as AddressInfo).port;
    const stalled = connect(port, '127.0.0.1');
    stalled.on('error', () => undefined);
    // Headers only: its 1000 declared bytes fill the window while it is read.
    stalled.write(
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    try {
      await new Promise((r) => setTimeout(r, 50));
      const res = await e.post();
      expect(res.status).toBe(202);
      expect(e.sink.stored.map((s) => s.type)).toEqual(['page_view']);
    } finally {
      stalled.destroy();
      await new Promise((r) => e.server.close(r));
    }
  });

  it('answers 503 overloaded with Retry-After when the queue does not drain in time', async () => {
    const e = await windowed(100);
    e.sink.queued = 5000;
    const res = await e.post();
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // Nothing acknowledged yet: no measure, the estimator's 5 s.
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { type: string }).type).toMatch(/overloaded/);
    expect(e.sink.stored).toHaveLength(0);
    await new Promise((r) => e.server.close(r));
  });

  it('answers a longer Retry-After when the sink drains slower (the measured drain, not a constant)', async () => {
    // The same backlog; Kafka acknowledged 100x fewer bytes over the last seconds.
    const retryAfter = async (ackedBytes: number): Promise<number> => {
      const e = await windowed(100);
      e.sink.queued = 50_000;
      e.sink.drained.record(ackedBytes);
      const res = await e.post();
      await new Promise((r) => e.server.close(r));
      expect(res.status).toBe(503);
      return Number(res.headers.get('retry-after'));
    };
    const fast = await retryAfter(10_000_000);
    const slow = await retryAfter(100_000);
    expect(fast).toBeGreaterThanOrEqual(1);
    expect(slow).toBeGreaterThan(fast);
  });
});
