/**
 * The puller's reading of upstreams over a real local socket (no Kafka): SSE with ids and
 * event names, NDJSON with positions, the resume position sent back, auth from an
 * environment variable, and an upstream error; and how upstream events become envelopes.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toEnvelope } from '../../services/puller/puller';
import { UpstreamError, readUpstream } from '../../services/puller/upstream';
import type { UpstreamEvent, UpstreamSpec } from '../../services/puller/upstream';

let server: Server;
let base: string;
let seen: { url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/sse')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // split mid-event, as a network would
      res.write('id: 7\nevent: click\ndata: {"type":"click","n":7}\n\nid: 8\nda');
      res.end('ta: not json\n\n');
    } else if (req.url?.startsWith('/ndjson')) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"id":"a1","type":"t"}\n{"id":"a2",');
      res.end('"type":"t"}\n\n{"type":"no-id"}\n');
    } else {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => (seen = []));

async function read(spec: UpstreamSpec, from: string | null, env = {}): Promise<UpstreamEvent[]> {
  const out: UpstreamEvent[] = [];
  for await (const e of readUpstream(spec, from, new AbortController().signal, env)) out.push(e);
  return out;
}

describe('readUpstream', () => {
  it('reads SSE events with their ids and names, resuming with Last-Event-ID and a token', async () => {
    const events = await read(
      { name: 'u', url: `${base}/sse`, format: 'sse', tokenEnv: 'UP_TOKEN' },
      '6',
      { UP_TOKEN: 's3cret' },
    );
    expect(events).toEqual([
      { position: '7', name: 'click', data: '{"type":"click","n":7}' },
      { position: '8', name: null, data: 'not json' },
    ]);
    expect(seen[0]?.headers['last-event-id']).toBe('6');
    expect(seen[0]?.headers.authorization).toBe('Bearer s3cret');
  });

  it('reads NDJSON lines with their position field, and the resume query parameter', async () => {
    const events = await read(
      { name: 'u', url: `${base}/ndjson`, format: 'ndjson', resumeParam: 'since' },
      'a0',
    );
    expect(events.map((e) => e.position)).toEqual(['a1', 'a2', null]);
    expect(seen[0]?.url).toBe('/ndjson?since=a0');
  });

  it('fails with the status when the upstream refuses', async () => {
    await expect(read({ name: 'u', url: `${base}/broken`, format: 'sse' }, null)).rejects.toThrow(
      UpstreamError,
    );
  });
});

describe('toEnvelope', () => {
  it('keeps an Intake event as it is, with an id from the upstream position', () => {
    const e = toEnvelope('feed', {
      position: '7',
      name: 'click',
      data: '{"type":"click","key":"v1"}',
    });
    expect(e).toMatchObject({
      id: 'feed:7',
      type: 'click',
      key: 'v1',
      source: 'puller:feed',
      pattern: 'stream',
    });
  });

  it('wraps anything else as data, typed by the SSE event name', () => {
    expect(toEnvelope('feed', { position: '8', name: 'tick', data: 'not json' })).toMatchObject({
      id: 'feed:8',
      type: 'tick',
      data: 'not json',
    });
    expect(toEnvelope('feed', { position: null, name: null, data: '{"x":1}' })).toMatchObject({
      type: 'upstream_event',
      data: { x: 1 },
    });
  });
});
