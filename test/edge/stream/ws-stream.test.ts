/**
 * `/v1/stream` over a real socket, with an in-memory sink: the WebSocket transport (auth
 * on the upgrade, hello, acks, size limit, binary frames, idle timeout), the bundled
 * client, and the chunked NDJSON upload.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { StreamClient } from '../../../lib/client/stream-client';
import { bodyDefaults } from '../../../services/edge/ingest/body';
import { createKeyChecker, parseApiKeys } from '../../../services/edge/http/auth';
import { streamDefaults } from '../../../services/edge/stream/stream-session';
import { WsStreamServer } from '../../../services/edge/stream/ws-stream';
import { attachUpgrades } from '../../../services/edge/upgrades';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink, silentLogger } from '../../support/fakes';

const KEY = 'k-stream-test';
const limits = { ...bodyDefaults, ...streamDefaults };

describe('/v1/stream', () => {
  const sink = new MemorySink();
  let app: TestApp;
  let ws: string;
  let streams: WsStreamServer;

  beforeAll(async () => {
    const auth = {
      required: true,
      keys: parseApiKeys([`tests:${KEY}`]),
      rateLimit: { perSecond: 1000, burst: 1000 },
    };
    app = await startTestApp({ sink, auth, stream: limits });
    streams = new WsStreamServer({
      sink,
      logger: silentLogger(),
      instance: 'edge-ws',
      defaultSource: 'test',
      limits,
      maxMessageBytes: 4096,
      pingIntervalMs: 200,
      idleTimeoutMs: 600,
      isDraining: () => false,
    });
    attachUpgrades(
      app.server,
      { '/v1/stream': streams },
      {
        checkKey: createKeyChecker(auth),
        isDraining: () => false,
        defaultSource: 'test',
      },
    );
    ws = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
  });

  afterAll(async () => {
    await streams.close(100);
    await app.close();
  });

  beforeEach(() => sink.stored.splice(0));

  it('streams through the bundled client: every event acknowledged and stored once', async () => {
    const instances: string[] = [];
    const client = new StreamClient({
      url: ws,
      apiKey: KEY,
      onEvent: (e) => e.kind === 'connected' && instances.push(e.instance),
    });
    for (let i = 0; i < 2000; i++) await client.send({ type: 'tick', data: { i } });
    await client.drain();
    client.close();
    expect(instances).toEqual(['edge-ws']);
    expect(client.lastAck).toBe(2000);
    expect(new Set(sink.stored.map((e) => e.id)).size).toBe(2000);
    expect(sink.stored.every((e) => e.source === 'tests')).toBe(true);
  });

  it('refuses the upgrade without a key, with a problem document', async () => {
    const status = await new Promise<{ status: number; type: string }>((resolve) => {
      const socket = new WebSocket(ws);
      socket.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) });
        res.resume();
      });
      socket.on('error', () => undefined);
    });
    expect(status).toEqual({ status: 401, type: 'application/problem+json' });
  });

  it('accepts the key in the query for browsers', async () => {
    const messages = await talk(`${ws}?api_key=${KEY}`, ['{"type":"q"}']);
    expect(messages).toContainEqual({ ack: 1 });
  });

  it('refuses binary messages and invalid events per message, without closing', async () => {
    const messages = await talk(`${ws}?api_key=${KEY}`, [
      Buffer.from([1, 2, 3]),
      '{"nope":1}',
      '{"type":"ok"}',
    ]);
    expect(messages).toContainEqual(expect.objectContaining({ error: 'bad-frame' }));
    expect(messages).toContainEqual({ seq: 1, error: '"type" is required' });
    expect(messages).toContainEqual({ ack: 2 });
  });

  it('closes with 1009 on a message larger than the limit', async () => {
    const code = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${ws}?api_key=${KEY}`);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'big', data: 'x'.repeat(8192) })));
      socket.on('close', (c) => resolve(c));
      socket.on('error', () => undefined);
    });
    expect(code).toBe(1009);
  });

  it('closes an idle stream', async () => {
    const reason = await new Promise<string>((resolve) => {
      const socket = new WebSocket(`${ws}?api_key=${KEY}`);
      socket.on('close', (_c, r) => resolve(r.toString()));
    });
    expect(reason).toBe('idle timeout');
  });

  it('takes a chunked NDJSON upload and answers with an NDJSON stream of acks', async () => {
    const lines = ['{"type":"a"}', 'garbage', '{"seq":3,"event":{"type":"c"}}'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const line of lines) controller.enqueue(new TextEncoder().encode(`${line}\n`));
        controller.close();
      },
    });
    const res = await fetch(`${app.base}/v1/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEY}` },
      body,
      duplex: 'half',
    });
    expect(res.status).toBe(200);
    const answer = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(answer).toContainEqual(expect.objectContaining({ seq: 2 }));
    expect(answer.at(-1)).toEqual({ done: true, ack: 3, accepted: 2, rejected: 1, resent: 0 });
    expect(sink.stored.map((e) => e.type)).toEqual(['a', 'c']);
  });

  it('answers GET without an upgrade with 426', async () => {
    const res = await fetch(`${app.base}/v1/stream`, { headers: { 'x-api-key': KEY } });
    expect(res.status).toBe(426);
  });
});

/** Opens a stream, sends the messages, and collects what the server says for a moment. */
function talk(url: string, messages: (string | Buffer)[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const got: unknown[] = [];
    const socket = new WebSocket(url);
    socket.on('open', () => {
      for (const m of messages) socket.send(m);
      setTimeout(() => {
        socket.close();
        resolve(got);
      }, 150);
    });
    socket.on('message', (d: Buffer) => got.push(JSON.parse(d.toString())));
    socket.on('error', reject);
  });
}
