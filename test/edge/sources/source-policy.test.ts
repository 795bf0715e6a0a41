/**
 * Sources at the edge, in process: keys come from the source records (a disabled source
 * and a rotated key past its grace are refused), quotas are counted in events per source
 * (429 problem naming the quota, Retry-After, the other source untouched), and the
 * privacy policy changes what reaches the sink (IP, redaction, GPC, suppression).
 */
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import { createRegistry } from '../../../lib/metrics';
import { validateSource } from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';
import { KeyIndex, hashKey } from '../../../lib/sources/keys';
import { Privacy } from '../../../lib/sources/privacy';
import { FleetQuotas } from '../../../lib/sources/quota';
import { createKeyChecker } from '../../../services/edge/http/auth';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import type { EdgeMetrics } from '../../../services/edge/metrics';
import { SourcePolicy } from '../../../services/edge/sources/source-policy';
import { PolicySink } from '../../../services/edge/sources/policy-sink';
import { bodyDefaults } from '../../../services/edge/ingest/body';
import { streamDefaults } from '../../../services/edge/stream/stream-session';
import { WsStreamServer } from '../../../services/edge/stream/ws-stream';
import { attachUpgrades } from '../../../services/edge/upgrades';
import { silentLogger } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink } from '../../support/fakes';

const HASH_KEY = 'nAta_8GqhVBApzuBTxMAgV41baQk9j-vHMkEkcvLYT8';
const hmac = (value: string): string =>
  createHmac('sha256', Buffer.from(HASH_KEY, 'base64url')).update(value).digest('hex');

function source(name: string, key: string, extra: Record<string, unknown> = {}): SourceRecord {
  const result = validateSource({
    name,
    enabled: true,
    keys: [{ hash: hashKey(key) }],
    updatedAt: '2026-12-06T00:00:00.000Z',
    version: 1,
    ...extra,
  });
  if (!result.ok) throw new Error(`${result.field} ${result.reason}`);
  return result.source;
}

describe('sources at the edge', () => {
  const records = new Map<string, SourceRecord>();
  const forgotten = new Set<string>();
  const sink = new MemorySink();
  let metrics: EdgeMetrics;
  let policy: SourcePolicy;
  let app: TestApp;
  let streams: WsStreamServer;

  const set = (s: SourceRecord): void => void records.set(s.name, s);

  beforeAll(async () => {
    set(source('shop', 'shop-key', { quotas: { perDay: 3 } }));
    set(source('blog', 'blog-key'));
    set(source('segment', 'segment-key', { quotas: { perDay: 25 } }));
    set(source('snowplow', 'snowplow-key', { quotas: { perDay: 2 } }));
    set(source('streamer', 'streamer-key', { quotas: { perDay: 2 } }));
    set(
      source('private', 'private-key', {
        privacy: {
          ip: 'truncate',
          userAgent: 'drop',
          redact: [
            { pointer: '/email', mode: 'remove' },
            { pointer: '/card', mode: 'hash' },
          ],
          gpc: 'anonymous',
          suppressed: ['opted-out'],
          hashKey: HASH_KEY,
        },
      }),
    );
    set(source('off', 'off-key', { enabled: false }));
    set(
      source('rotated', 'old-key', {
        keys: [
          { hash: hashKey('old-key'), expiresAt: '2020-01-01T00:00:00.000Z' },
          { hash: hashKey('new-key') },
        ],
      }),
    );
    metrics = createEdgeMetrics(createRegistry('edge', 'test'), { inFlightBytes: () => 0 });
    const quotas = new FleetQuotas({
      edge: 'edge-test',
      quotasOf: (name) => records.get(name)?.quotas,
    });
    policy = new SourcePolicy({
      quotas,
      privacy: (name) => {
        const s = records.get(name);
        return s && new Privacy(s.privacy);
      },
      forgotten: (name, key) => forgotten.has(`${name}/${key}`),
      events: metrics.sourceEvents,
    });
    // As the edge runs: every transport writes through the policy sink.
    const checkKey = createKeyChecker({
      required: true,
      keys: new Map(),
      index: () => new KeyIndex(records.values()),
      rateLimit: { perSecond: 1000, burst: 1000 },
    });
    const limits = { ...bodyDefaults, ...streamDefaults };
    app = await startTestApp({
      sink: new PolicySink(sink, policy),
      metrics,
      checkKey,
      sources: policy,
      stream: limits,
    });
    streams = new WsStreamServer({
      sink: new PolicySink(sink, policy),
      logger: silentLogger(),
      instance: 'edge-test',
      defaultSource: 'test',
      limits,
      maxMessageBytes: 4096,
      pingIntervalMs: 1000,
      idleTimeoutMs: 5000,
      isDraining: () => false,
      sources: policy,
    });
    attachUpgrades(
      app.server,
      { '/v1/stream': streams },
      { checkKey, isDraining: () => false, defaultSource: 'test' },
    );
  });

  afterAll(async () => {
    await streams.close(100);
    await app.close();
  });

  const post = (key: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${app.base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, ...headers },
      body: JSON.stringify(body),
    });

  const count = async (source: string, outcome: string): Promise<number> => {
    const metric = await metrics.sourceEvents.get();
    return (
      metric.values.find((v) => v.labels.source === source && v.labels.outcome === outcome)
        ?.value ?? 0
    );
  };

  it('refuses a disabled source and a rotated key past its grace, accepts the new key', async () => {
    const disabled = await post('off-key', { type: 't' });
    expect(disabled.status).toBe(403);
    expect(((await disabled.json()) as { detail: string }).detail).toMatch(/disabled/);
    const expired = await post('old-key', { type: 't' });
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { detail: string }).detail).toMatch(/rotated/);
    expect((await post('new-key', { type: 't' })).status).toBe(202);
  });

  it('counts a per-day quota in events: 429 naming it, with Retry-After; another source goes on', async () => {
    expect((await post('shop-key', [{ type: 't' }, { type: 't' }])).status).toBe(202);
    const refused = await post('shop-key', [{ type: 't' }, { type: 't' }]);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ source: 'shop', quota: 'per-day', limit: 3 });
    expect((await post('shop-key', { type: 't' })).status).toBe(202);
    expect((await post('shop-key', { type: 't' })).status).toBe(429);
    expect((await post('blog-key', [{ type: 't' }, { type: 't' }])).status).toBe(202);
    // Refused before its body is read: a body that is not even JSON gets the 429.
    const unread = await fetch(`${app.base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'shop-key' },
      body: '{"not json',
    });
    expect(unread.status).toBe(429);
    expect(await unread.json()).toMatchObject({ quota: 'per-day' });
    expect(await count('shop', 'accepted')).toBe(3);
    expect(await count('shop', 'limited')).toBe(4);
    expect(await count('blog', 'limited')).toBe(0);
  });

  it("holds a Segment batch to its source's quota, counted in events: 429, nothing written", async () => {
    const batch = (n: number, tag: string) => ({
      batch: Array.from({ length: n }, (_, i) => ({
        type: 'track',
        event: 'e',
        userId: 'u',
        messageId: `${tag}-${i}`,
      })),
    });
    const segment = (body: unknown) =>
      fetch(`${app.base}/v1/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from('segment-key:').toString('base64')}`,
        },
        body: JSON.stringify(body),
      });
    expect((await segment(batch(20, 'first'))).status).toBe(200);
    const before = sink.stored.length;
    const refused = await segment(batch(20, 'over'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({
      type: 'https://intake.dev/problems/quota-exceeded',
      source: 'segment',
      quota: 'per-day',
      limit: 25,
    });
    expect(sink.stored.length).toBe(before);
    expect((await segment(batch(5, 'last'))).status).toBe(200);
    expect(await count('segment', 'accepted')).toBe(25);
    expect(await count('segment', 'limited')).toBe(20);
  });

  it("holds a Snowplow tracker's events to its source's quota", async () => {
    const track = (events: number) =>
      fetch(`${app.base}/com.snowplowanalytics.snowplow/tp2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'snowplow-key' },
        body: JSON.stringify({
          schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
          data: Array.from({ length: events }, () => ({ e: 'pv', duid: 'd', url: 'https://a/' })),
        }),
      });
    const before = sink.stored.length;
    // A day of 2 events never admits 3 at once: refused whole, without Retry-After.
    const never = await track(3);
    expect(never.status).toBe(429);
    expect(never.headers.get('retry-after')).toBeNull();
    expect((await track(2)).status).toBe(200);
    const refused = await track(1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ source: 'snowplow', quota: 'per-day' });
    expect(sink.stored.length).toBe(before + 2);
  });

  it("refuses stream messages over the source's quota (chunked and WebSocket), nothing written", async () => {
    const chunked = async (lines: string[]): Promise<Record<string, unknown>[]> => {
      const res = await fetch(`${app.base}/v1/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'x-api-key': 'streamer-key' },
        body: lines.join('\n'),
      });
      const text = await res.text();
      return text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const line = (id: string): string => JSON.stringify({ type: 't', id });
    expect((await chunked([line('s1'), line('s2')])).at(-1)).toMatchObject({ accepted: 2 });
    const before = sink.stored.length;
    const refused = await chunked([line('s3')]);
    expect(refused).toContainEqual(
      expect.objectContaining({ error: 'quota-exceeded', source: 'streamer', quota: 'per-day' }),
    );
    const port = (app.server.address() as AddressInfo).port;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/stream?api_key=streamer-key`);
    const messages: Record<string, unknown>[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>;
      messages.push(message);
      if ('hello' in message) socket.send(line('s4'));
    });
    const code = await new Promise<number>((resolve) => socket.on('close', resolve));
    expect(code).toBe(1013);
    expect(messages).toContainEqual(
      expect.objectContaining({ error: 'quota-exceeded', source: 'streamer', ack: 0 }),
    );
    expect(sink.stored.length).toBe(before);
    expect(await count('streamer', 'limited')).toBe(2);
  });

  it('writes what the privacy policy leaves: IP truncated, UA dropped, fields removed or hashed', async () => {
    const before = sink.stored.length;
    const res = await post(
      'private-key',
      { type: 't', key: 'v1', data: { email: 'a@b.example', card: '4111', keep: 1 } },
      { 'user-agent': 'agent/1' },
    );
    expect(res.status).toBe(202);
    const [written] = sink.stored.slice(before);
    // Hashed once (the policy sink leaves what the route applied as it is).
    expect(written!.data).toEqual({ card: hmac('4111'), keep: 1 });
    expect(written!.meta.ip).toBe('127.0.0.0');
    expect(written!.meta.userAgent).toBeUndefined();
  });

  it('treats a Sec-GPC request as anonymous: no IP, no visitor cookie, keyed by its id', async () => {
    const before = sink.stored.length;
    const res = await post('private-key', { type: 't', id: 'gpc-1' }, { 'sec-gpc': '1' });
    expect(res.status).toBe(202);
    expect(res.headers.get('set-cookie')).toBeNull();
    const [written] = sink.stored.slice(before);
    expect(written!.key).toBe('gpc-1');
    expect(written!.meta.ip).toBeUndefined();
  });

  it('accepts and drops the events of suppressed and forgotten keys, counted', async () => {
    forgotten.add('private/gone');
    const before = sink.stored.length;
    const res = await post('private-key', [
      { type: 't', key: 'opted-out' },
      { type: 't', key: 'gone' },
      { type: 't', key: 'kept' },
    ]);
    expect(res.status).toBe(202);
    expect(sink.stored.slice(before).map((e) => e.key)).toEqual(['kept']);
    expect((await post('private-key', { type: 't', key: 'gone' })).status).toBe(202);
    expect(sink.stored.length).toBe(before + 1);
    expect(await count('private', 'suppressed')).toBe(3);
  });

  it('applies the policy to what other transports write: IP, redaction, suppression', async () => {
    const envelope = (key: string): Envelope => {
      const r = wrapEvent(
        { type: 't', key, data: { email: 'x@y.example', card: '4111' } },
        {
          source: 'private',
          pattern: 'stream',
          receivedAt: new Date(),
          meta: { ip: '2001:db8:85a3:8d3::7348', userAgent: 'a/1' },
        },
      );
      if (!r.ok) throw new Error(r.reason);
      return r.envelope;
    };
    const before = sink.stored.length;
    const stored = await new PolicySink(sink, policy).store([
      envelope('opted-out'),
      envelope('streamed'),
    ]);
    expect(stored.map((s) => s.partition)).toEqual([-1, 0]);
    expect(sink.stored.slice(before)).toEqual([
      expect.objectContaining({
        key: 'streamed',
        data: { card: hmac('4111') },
        meta: { ip: '2001:db8:85a3::' },
      }),
    ]);
  });
});
