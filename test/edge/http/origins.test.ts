/**
 * A source's `origins` as allowed origins of its keys (docs/sources.md): CORS allows an
 * origin that `INTAKE_CORS_ORIGINS` or an enabled source lists, following the sources as
 * they change; a request with an `Origin` its key's source does not list is refused 403
 * `origin-not-allowed` on every route that checks keys (the /v1 routes, the Segment
 * routes, the WebSocket upgrade); without `Origin`, or for a source listing none, nothing
 * changes. In process, with fakes.
 */
import { validateSource } from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';
import { KeyIndex, hashKey } from '../../../lib/sources/keys';
import { createKeyChecker } from '../../../services/edge/http/auth';
import { appIdChecker } from '../../../services/edge/sdk/app-ids';
import {
  corsAllowsOrigin,
  keyAllowsOrigin,
  normalOrigin,
} from '../../../services/edge/http/origins';
import { attachTestStream, startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink } from '../../support/fakes';

const SHOP = 'https://shop.example';
const OTHER = 'https://other.example';

function source(name: string, key: string, origins: string[]): SourceRecord {
  const result = validateSource({
    name,
    enabled: true,
    keys: [{ hash: hashKey(key) }],
    origins,
    appIds: [`${name}-web`],
    updatedAt: '2026-12-06T00:00:00.000Z',
    version: 1,
  });
  if (!result.ok) throw new Error(`${result.field} ${result.reason}`);
  return result.source;
}

describe('the origin rule of a key', () => {
  it('allows any origin for a source listing none, and requests without Origin always', () => {
    expect(keyAllowsOrigin([], OTHER)).toBe(true);
    expect(keyAllowsOrigin([SHOP], undefined)).toBe(true);
    expect(keyAllowsOrigin(['*'], OTHER)).toBe(true);
  });

  it('allows only the listed origins, compared in their normal form', () => {
    expect(keyAllowsOrigin([SHOP], SHOP)).toBe(true);
    expect(keyAllowsOrigin([SHOP], 'https://SHOP.example:443')).toBe(true);
    expect(keyAllowsOrigin([SHOP], OTHER)).toBe(false);
    expect(keyAllowsOrigin([SHOP], 'http://shop.example')).toBe(false);
    expect(keyAllowsOrigin([SHOP], 'null')).toBe(false);
    expect(normalOrigin('null')).toBe('null');
  });

  it('lets CORS allow an origin configured or listed by a source', () => {
    const none = new Set<string>();
    expect(corsAllowsOrigin([SHOP], none, SHOP)).toBe(true);
    expect(corsAllowsOrigin(['*'], none, OTHER)).toBe(true);
    expect(corsAllowsOrigin([], new Set([SHOP]), SHOP)).toBe(true);
    expect(corsAllowsOrigin([], new Set(['*']), OTHER)).toBe(true);
    expect(corsAllowsOrigin([SHOP], new Set([SHOP]), OTHER)).toBe(false);
  });
});

describe('origins at the edge', () => {
  const records = new Map<string, SourceRecord>();
  const set = (s: SourceRecord): void => void records.set(s.name, s);
  const auth = {
    required: true,
    keys: new Map(),
    index: () => new KeyIndex(records.values()),
    rateLimit: { perSecond: 1000, burst: 1000 },
  };
  const checkKey = createKeyChecker(auth);
  // as SourceBook.appIds: each source's app ids as its keys
  const checkAppId = appIdChecker(
    auth,
    new Map(),
    undefined,
    () =>
      new KeyIndex(
        [...records.values()].map((s) => ({
          ...s,
          keys: s.appIds.map((id) => ({ hash: hashKey(id) })),
        })),
      ),
  );
  let app: TestApp;

  beforeAll(async () => {
    set(source('shop', 'shop-key', [SHOP]));
    set(source('open', 'open-key', []));
    app = await startTestApp({
      sink: new MemorySink(),
      checkKey,
      sdk: { browserAppIds: new Map(), checkAppId },
      // as the edge does: the enabled sources' origins, asked on each request
      sourceOrigins: () => new Set([...records.values()].flatMap((s) => s.origins)),
    });
  });

  afterAll(() => app.close());

  const post = (path: string, key: string, origin?: string, body: unknown = { type: 'a' }) =>
    fetch(`${app.base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': key,
        ...(origin ? { origin } : {}),
      },
      body: JSON.stringify(body),
    });

  const preflight = (origin: string) =>
    fetch(`${app.base}/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-api-key',
      },
    });

  it('allows the preflight of an origin a source lists, and follows a change', async () => {
    const allowed = await preflight(SHOP);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect((await preflight(OTHER)).headers.get('access-control-allow-origin')).toBeNull();
    set(source('open', 'open-key', [OTHER]));
    expect((await preflight(OTHER)).headers.get('access-control-allow-origin')).toBe(OTHER);
    set(source('open', 'open-key', []));
  });

  it('refuses a key from an origin its source does not list: 403 naming what to do', async () => {
    const res = await post('/v1/events', 'shop-key', OTHER);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { type: string; detail: string };
    expect(body.type).toBe('https://intake.dev/problems/origin-not-allowed');
    expect(body.detail).toContain('npm run intake -- sources set shop --origins');
    expect(body.detail).toContain(OTHER);
  });

  it('accepts the key from a listed origin, without Origin, and any origin of an open source', async () => {
    const fromShop = await post('/v1/events', 'shop-key', SHOP);
    expect(fromShop.status).toBe(202);
    expect(fromShop.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(fromShop.headers.get('access-control-allow-credentials')).toBe('true');
    // No Origin: no CORS request, so no CORS headers but Vary.
    const noOrigin = await post('/v1/events', 'shop-key');
    expect(noOrigin.status).toBe(202);
    expect(noOrigin.headers.get('vary')).toMatch(/Origin/);
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull();
    expect(noOrigin.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await post('/v1/events', 'open-key', OTHER)).status).toBe(202);
  });

  it('refuses a Segment batch and its settings from another origin', async () => {
    const batch = { batch: [{ type: 'track', event: 'a', userId: 'u1' }] };
    expect((await post('/v1/batch', 'shop-key', OTHER, batch)).status).toBe(403);
    expect((await post('/v1/batch', 'shop-key', SHOP, batch)).status).toBe(200);
    const settings = await fetch(`${app.base}/v1/projects/shop-key/settings`, {
      headers: { origin: OTHER },
    });
    expect(settings.status).toBe(403);
  });

  it("refuses a Snowplow tracker's key or app id from another origin", async () => {
    const track = (origin: string, aid: string, key?: string) =>
      fetch(`${app.base}/com.snowplowanalytics.snowplow/tp2`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          origin,
          ...(key ? { 'x-api-key': key } : {}),
        },
        body: JSON.stringify({
          schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
          data: [{ e: 'pv', aid, duid: 'd', url: 'https://shop.example/' }],
        }),
      });
    const refused = await track(OTHER, 'shop-web');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { type: string }).type).toMatch(/origin-not-allowed$/);
    expect((await track(SHOP, 'shop-web')).status).toBe(200);
    expect((await track(OTHER, 'open-web')).status).toBe(200);
    expect((await track(OTHER, 'x', 'shop-key')).status).toBe(403);
    expect((await track(SHOP, 'x', 'shop-key')).status).toBe(200);
  });

  it('refuses a WebSocket upgrade from another origin', async () => {
    const stream = attachTestStream(app, checkKey);
    const upgrade = (origin: string): Promise<number> => stream.upgrade('shop-key', origin);
    expect(await upgrade(OTHER)).toBe(403);
    expect(await upgrade(SHOP)).toBe(101);
    stream.close();
  });
});
