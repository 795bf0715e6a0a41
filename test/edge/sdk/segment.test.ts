/**
 * Segment's HTTP Tracking API on the edge app (in-memory sink): paths, write key from
 * Basic auth or the body, the mapping into envelopes, Segment's limits, per-message
 * rejections, and the settings document analytics.js loads.
 */
import { IntakeError } from '../../../lib/errors';
import { mapSegmentMessage } from '../../../services/edge/sdk/segment/mapping';
import { basicUser } from '../../../services/edge/sdk/segment/routes';
import { keyedApp } from './keyed-app';

const KEY = 'seg-write-key';
const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

const track = (i: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'track',
  event: 'Order Completed',
  messageId: `m-${i}`,
  userId: `u-${i}`,
  timestamp: '2026-01-02T03:04:05.000Z',
  properties: { total: i },
  ...extra,
});

describe('Segment mapping', () => {
  it('maps id, key, type, ts and keeps the whole message in data', () => {
    const message = track(1, { anonymousId: 'a-1', context: { ip: '1.2.3.4' } });
    const mapped = mapSegmentMessage(message);
    expect(mapped).toEqual({
      ok: true,
      event: {
        id: 'm-1',
        key: 'u-1',
        type: 'Order Completed',
        ts: '2026-01-02T03:04:05.000Z',
        data: message,
      },
    });
  });

  it('keys by anonymousId without userId, types non-track calls by their call', () => {
    const mapped = mapSegmentMessage({ type: 'identify', anonymousId: 'a-9', traits: { x: 1 } });
    expect(mapped.ok && mapped.event).toMatchObject({ key: 'a-9', type: 'identify' });
    const group = mapSegmentMessage({ userId: 'u', groupId: 'g' }, 'group');
    expect(group.ok && group.event).toMatchObject({ type: 'group', data: { type: 'group' } });
  });

  it('gives a page its path from properties, context or the URL', () => {
    const fromUrl = mapSegmentMessage({
      type: 'page',
      userId: 'u',
      context: { page: { url: 'https://shop.example/a/b?q=1' } },
    });
    expect(fromUrl.ok && fromUrl.event.data).toMatchObject({ path: '/a/b' });
    const fromProperties = mapSegmentMessage({
      type: 'page',
      userId: 'u',
      properties: { path: '/p' },
    });
    expect(fromProperties.ok && fromProperties.event.data).toMatchObject({ path: '/p' });
  });

  it.each([
    [[1, 2], 'JSON object'],
    [{ type: 'nope', userId: 'u' }, '"type"'],
    [{ type: 'track', userId: 'u' }, '"event"'],
    [{ type: 'track', event: 'x' }, '"userId" or "anonymousId"'],
    [{ type: 'track', event: 'x', userId: 'u', timestamp: 'yesterday' }, '"timestamp"'],
  ])('rejects %j', (message, reason) => {
    const mapped = mapSegmentMessage(message);
    expect(mapped.ok).toBe(false);
    expect(!mapped.ok && mapped.reason).toContain(reason);
  });

  it('reads the write key from Basic auth', () => {
    expect(basicUser(basic('k1'))).toBe('k1');
    expect(basicUser('Bearer k1')).toBeUndefined();
  });
});

describe('Segment routes', () => {
  const { sink, app } = keyedApp(`web:${KEY}`, { corsOrigins: ['*'] });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${app().base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(KEY), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('stores a batch with the key of Basic auth and answers {"success": true}', async () => {
    const res = await post('/v1/batch', { batch: [track(1), track(2)], sentAt: new Date() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    expect(sink.stored.map((e) => [e.id, e.key, e.type, e.source])).toEqual([
      ['m-1', 'u-1', 'Order Completed', 'web'],
      ['m-2', 'u-2', 'Order Completed', 'web'],
    ]);
  });

  it('takes analytics.js text/plain bodies with writeKey inside, on its short paths', async () => {
    const res = await fetch(`${app().base}/v1/p`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ type: 'page', anonymousId: 'a', writeKey: KEY, messageId: 'p-1' }),
    });
    expect(res.status).toBe(200);
    expect(sink.stored[0]).toMatchObject({ id: 'p-1', type: 'page', key: 'a', source: 'web' });
  });

  it("takes analytics.js's batching path /v1/b, a batch's context applying to its messages", async () => {
    const res = await fetch(`${app().base}/v1/b`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: basic(KEY) },
      body: JSON.stringify({
        writeKey: KEY,
        batch: [track(1), track(2, { context: { own: true } })],
        context: { shared: true },
      }),
    });
    expect(res.status).toBe(200);
    expect(sink.stored.map((e) => (e.data as { context: unknown }).context)).toEqual([
      { shared: true },
      { own: true },
    ]);
  });

  it('maps single-call routes by their call', async () => {
    for (const [path, type] of [
      ['/v1/identify', 'identify'],
      ['/v1/g', 'group'],
      ['/v1/alias', 'alias'],
      ['/v1/screen', 'screen'],
    ]) {
      const res = await post(path!, { userId: 'u', messageId: `id-${type}` });
      expect(res.status).toBe(200);
    }
    expect(sink.stored.map((e) => e.type)).toEqual(['identify', 'group', 'alias', 'screen']);
  });

  it('answers 401 without a key and 403 with an unknown one', async () => {
    const none = await post('/v1/track', track(1), { authorization: '' });
    expect(none.status).toBe(401);
    const wrong = await post('/v1/track', track(1), { authorization: basic('nope') });
    expect(wrong.status).toBe(403);
    expect(sink.stored).toHaveLength(0);
  });

  it('answers 400 for a message over 32 KB, storing nothing', async () => {
    const big = track(1, { properties: { blob: 'x'.repeat(33 * 1024) } });
    const single = await post('/v1/track', big);
    expect(single.status).toBe(400);
    expect(single.headers.get('content-type')).toContain('application/problem+json');
    const inBatch = await post('/v1/batch', { batch: [track(2), big] });
    expect(inBatch.status).toBe(400);
    expect(sink.stored).toHaveLength(0);
  });

  it('answers 400 for a batch over 500 KB', async () => {
    const batch = Array.from({ length: 20 }, (_, i) =>
      track(i, { properties: { blob: 'x'.repeat(30 * 1024) } }),
    );
    const res = await post('/v1/batch', { batch });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toContain('500 KB');
    expect(sink.stored).toHaveLength(0);
  });

  it('stores the good messages of a batch and says which one failed', async () => {
    const res = await post('/v1/batch', {
      batch: [track(1), { type: 'track', messageId: 'bad', userId: 'u' }, track(3)],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      success: false,
      accepted: 2,
      rejected: [{ index: 1, messageId: 'bad', reason: expect.stringContaining('"event"') }],
    });
    expect(sink.stored.map((e) => e.id)).toEqual(['m-1', 'm-3']);
  });

  it('answers 400 when no message of a batch is valid', async () => {
    const res = await post('/v1/batch', { batch: [{ type: 'track' }] });
    expect(res.status).toBe(400);
  });

  it('answers 503 with Retry-After when Kafka does not acknowledge', async () => {
    sink.failWith = new IntakeError('KAFKA_UNAVAILABLE', 'no ack');
    try {
      const res = await post('/v1/batch', { batch: [track(1)] });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).not.toBeNull();
    } finally {
      sink.failWith = null;
    }
  });

  it('serves the settings document pointing analytics.js at this host', async () => {
    const res = await fetch(`${app().base}/v1/projects/${KEY}/settings`, {
      headers: { origin: 'http://page.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://page.example');
    const settings = (await res.json()) as {
      integrations: Record<string, { apiHost: string; protocol: string; apiKey: string }>;
    };
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiKey: KEY,
      apiHost: `${new URL(app().base).host}/v1`,
      protocol: 'http',
    });
    const unknown = await fetch(`${app().base}/v1/projects/nope/settings`);
    expect(unknown.status).toBe(403);
  });
});
