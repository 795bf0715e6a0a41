/**
 * Snowplow's tracker protocol on the edge app (in-memory sink): tp2 batches and the
 * pixel, base64 fields, the mapping into envelopes, keys and browser app ids, the
 * collector's CORS, the `sp` cookie and `SP-Anonymous`.
 */
import { mapSnowplowPayload } from '../../../services/edge/sdk/snowplow/mapping';
import { keyedApp } from './keyed-app';

const KEY = 'sp-server-key';
const SCHEMA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

const pageView = (eid: string, extra: Record<string, string> = {}): Record<string, string> => ({
  e: 'pv',
  eid,
  aid: 'local',
  duid: 'd-1',
  url: 'https://shop.example/products/42?x=1',
  page: 'Product',
  dtm: '1767323045000',
  tv: 'js-4',
  ...extra,
});

describe('Snowplow mapping', () => {
  it('maps a page view: id = eid, key = duid, path from the url, ts from dtm', () => {
    const payload = pageView('e-1');
    expect(mapSnowplowPayload(payload)).toEqual({
      ok: true,
      event: {
        id: 'e-1',
        key: 'd-1',
        type: 'page_view',
        ts: '2026-01-02T03:04:05.000Z',
        data: { ...payload, path: '/products/42' },
      },
    });
  });

  it('maps a structured event with its category and action in data', () => {
    const mapped = mapSnowplowPayload({
      e: 'se',
      eid: 'e-2',
      uid: 'u-1',
      duid: 'd-1',
      se_ca: 'shop',
      se_ac: 'add',
      se_va: '2.5',
    });
    expect(mapped.ok && mapped.event).toMatchObject({
      key: 'u-1',
      type: 'struct',
      data: { category: 'shop', action: 'add', value: 2.5 },
    });
  });

  it('decodes ue_px and cx, and types a self-describing event by its schema name', () => {
    const ue = {
      schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
      data: { schema: 'iglu:com.acme/button_press/jsonschema/1-0-0', data: { id: 'b' } },
    };
    const co = { schema: 'iglu:x/contexts/jsonschema/1-0-0', data: [] };
    const mapped = mapSnowplowPayload({ e: 'ue', eid: 'e-3', ue_px: b64(ue), cx: b64(co) }, 'n-1');
    expect(mapped.ok && mapped.event).toMatchObject({
      type: 'button_press',
      key: 'n-1',
      data: { ue_pr: ue, co, nuid: 'n-1' },
    });
    expect(mapped.ok && mapped.event.data).not.toHaveProperty('ue_px');
  });

  it('rejects an event without e, or with ue_px that is not base64 JSON', () => {
    expect(mapSnowplowPayload({ eid: 'x' }).ok).toBe(false);
    expect(mapSnowplowPayload({ e: 'ue', ue_px: 'bm90IGpzb24' }).ok).toBe(false);
  });
});

describe('Snowplow routes', () => {
  const { sink, app } = keyedApp(`server:${KEY}`, {
    sdk: { browserAppIds: new Map([['local', 'web']]) },
  });

  const post = (data: unknown[], headers: Record<string, string> = {}) =>
    fetch(`${app().base}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
      body: JSON.stringify({ schema: SCHEMA, data }),
    });

  it('stores a batch from a server tracker with its key, answering after the sink', async () => {
    const res = await post([pageView('e-1', { aid: 'backend' }), pageView('e-2')], {
      'x-api-key': KEY,
    });
    expect(res.status).toBe(200);
    expect(sink.stored.map((e) => [e.id, e.type, e.source])).toEqual([
      ['e-1', 'page_view', 'server'],
      ['e-2', 'page_view', 'server'],
    ]);
  });

  it('takes browser events by their registered app id, refusing other app ids', async () => {
    const res = await post([pageView('e-1'), pageView('e-2', { aid: 'other' })]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accepted: 1,
      rejected: [{ index: 1, reason: expect.stringContaining('"other" is not registered') }],
    });
    expect(sink.stored.map((e) => [e.id, e.source])).toEqual([['e-1', 'web']]);
    expect((await post([pageView('e-3', { aid: 'other' })])).status).toBe(403);
    expect((await post([pageView('e-4', { aid: '' })])).status).toBe(401);
    expect((await post([pageView('e-5')], { 'x-api-key': 'wrong' })).status).toBe(403);
  });

  it('answers the CORS preflight and requests as the collector does (origin echoed, credentials)', async () => {
    const preflight = await fetch(`${app().base}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://page.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://page.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    const res = await post([pageView('e-1')], { origin: 'http://page.example' });
    expect(res.headers.get('access-control-allow-origin')).toBe('http://page.example');
  });

  it('sets the sp cookie as the network user id, and none with SP-Anonymous', async () => {
    const res = await post([pageView('e-1', { duid: '' })]);
    const cookie = res.headers.get('set-cookie') ?? '';
    const nuid = /sp=([^;]+)/.exec(cookie)?.[1];
    expect(nuid).toBeDefined();
    expect(sink.stored[0]).toMatchObject({ key: nuid, data: { nuid } });
    expect(sink.stored[0]!.meta.ip).toBeDefined();
    const again = await post([pageView('e-2', { duid: '' })], { cookie: `sp=${nuid!}` });
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(sink.stored[1]!.key).toBe(nuid);
    const anonymous = await post([pageView('e-3', { duid: '' })], { 'sp-anonymous': '*' });
    expect(anonymous.headers.get('set-cookie')).toBeNull();
    expect(sink.stored[2]!.meta.ip).toBeUndefined();
    expect(sink.stored[2]!.key).toBe('e-3');
  });

  it('answers the pixel with a GIF once its event is stored', async () => {
    const query = new URLSearchParams({
      e: 'se',
      eid: 'px-1',
      aid: 'local',
      se_ca: 'mail',
      se_ac: 'open',
    });
    const res = await fetch(`${app().base}/i?${query.toString()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(sink.stored[0]).toMatchObject({ id: 'px-1', type: 'struct', source: 'web' });
  });

  it('answers 400 for a body that is not payload_data, or with no valid event', async () => {
    const wrong = await fetch(`${app().base}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ data: [] }),
    });
    expect(wrong.status).toBe(400);
    expect((await post([{ eid: 'no-e' }], { 'x-api-key': KEY })).status).toBe(400);
  });
});

describe('Snowplow app id rate limit', () => {
  const { app } = keyedApp(`server:${KEY}`, {
    auth: {
      required: true,
      keys: new Map(),
      rateLimit: { perSecond: 1, burst: 1 },
    },
    sdk: { browserAppIds: new Map([['local', 'web']]) },
  });

  it("answers 429 with Retry-After once an app id's budget is spent", async () => {
    const pixel = () => fetch(`${app().base}/i?e=pv&aid=local&url=https%3A%2F%2Fa.example%2F`);
    expect((await pixel()).status).toBe(200);
    const limited = await pixel();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
