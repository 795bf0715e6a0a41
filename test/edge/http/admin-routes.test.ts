/**
 * The admin API in process, on a fake producer whose writes the fake source book applies
 * at once: its own key (401 missing, 403 wrong, 404 when off), the CLI's operations, and
 * 400 naming the field of an invalid policy.
 */
import type { ProduceRequest, Producer } from '../../../lib/kafka/port';
import { parseSource } from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';
import { SourceAdmin } from '../../../lib/sources/admin';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink } from '../../support/fakes';

const ADMIN_KEY = 'admin-key-0123456789abcdef';
const topics = { sources: 'intake.sources', forgets: 'intake.forgets' };

/** A book the fake producer writes into, as an edge following the topic would see it. */
function fakeStore(): {
  records: Map<string, SourceRecord>;
  forgets: string[];
  producer: Producer;
} {
  const records = new Map<string, SourceRecord>();
  const forgets: string[] = [];
  const producer: Producer = {
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    reset: () => Promise.resolve(),
    sendBatch: (request: ProduceRequest) => {
      for (const { topic, messages } of request.topicMessages)
        for (const m of messages) {
          if (topic === topics.forgets) forgets.push(String(m.key));
          else records.set(String(m.key), parseSource(String(m.key), m.value)!);
        }
      return Promise.resolve([]);
    },
  };
  return { records, forgets, producer };
}

describe('admin API', () => {
  const store = fakeStore();
  const book = {
    get: (name: string) => store.records.get(name),
    list: () => [...store.records.values()],
  };
  const admin = new SourceAdmin({ book, producer: store.producer, topics });
  let app: TestApp;
  let off: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ sink: new MemorySink(), admin: { admin, key: ADMIN_KEY } });
    off = await startTestApp({ sink: new MemorySink(), admin: { admin } });
  });

  afterAll(async () => {
    await app.close();
    await off.close();
  });

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    key: string | null = ADMIN_KEY,
    base = app.base,
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('wants its own key: 401 without one, 403 for a wrong one, 404 when it is off', async () => {
    expect((await call('GET', '/admin/sources', undefined, null)).status).toBe(401);
    expect((await call('GET', '/admin/sources', undefined, 'not-the-admin-key')).status).toBe(403);
    expect((await call('GET', '/admin/sources', undefined, ADMIN_KEY, off.base)).status).toBe(404);
    expect(store.records.size).toBe(0);
  });

  it('adds a source once, showing its key once', async () => {
    const added = await call('POST', '/admin/sources', { name: 'shop' });
    expect(added.status).toBe(201);
    expect(added.body.key).toEqual(expect.stringMatching(/^ik_/));
    expect(JSON.stringify(store.records.get('shop'))).not.toContain(added.body.key as string);
    expect((await call('POST', '/admin/sources', { name: 'shop' })).status).toBe(409);
    const bad = await call('POST', '/admin/sources', { name: 'no/slash' });
    expect(bad).toMatchObject({ status: 400, body: { field: '/name' } });
  });

  it.each([
    [{ perSecond: 10, burst: 0 }, '/quotas/burst'],
    [{ burst: 5 }, '/quotas/perSecond'],
    [{ ip: 'hide' }, '/privacy/ip'],
    [{ redact: ['email'] }, '/privacy/redact/0/pointer'],
    [{ origins: ['https://shop.example/path'] }, '/origins/0'],
    [{ colour: 'blue' }, '/colour'],
    [{ perDay: '100' }, '/perDay'],
    [{ suppressed: 'v1' }, '/suppressed'],
  ])('refuses %j with 400 naming %s, and writes nothing', async (change, field) => {
    const version = store.records.get('shop')!.version;
    const res = await call('PATCH', '/admin/sources/shop', change);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.detail).toContain(field);
    expect(store.records.get('shop')!.version).toBe(version);
  });

  it('sets quotas and privacy; a hashed field gets the source a hash key it never shows', async () => {
    const res = await call('PATCH', '/admin/sources/shop', {
      perSecond: 10,
      burst: 20,
      perDay: 1000,
      ip: 'truncate',
      redact: ['/email'],
      hash: ['/card/number'],
    });
    expect(res.status).toBe(200);
    expect(res.body.source).toMatchObject({
      quotas: { perSecond: 10, burst: 20, perDay: 1000 },
      privacy: {
        ip: 'truncate',
        redact: [
          { pointer: '/email', mode: 'remove' },
          { pointer: '/card/number', mode: 'hash' },
        ],
      },
    });
    expect(res.body.source).not.toHaveProperty('privacy.hashKey');
    expect(store.records.get('shop')!.privacy.hashKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const unset = await call('PATCH', '/admin/sources/shop', { perDay: null });
    expect(unset.body.source).toMatchObject({ quotas: { perSecond: 10, burst: 20 } });
    expect(store.records.get('shop')!.quotas.perDay).toBeUndefined();
  });

  it('rotates a key with a grace, disables, enables, lists and forgets', async () => {
    const rotated = await call('POST', '/admin/sources/shop/rotate-key', { graceSeconds: 60 });
    expect(rotated.status).toBe(200);
    const keys = store.records.get('shop')!.keys;
    expect(keys).toHaveLength(2);
    expect(Date.parse(keys[0]!.expiresAt!) - Date.now()).toBeGreaterThan(50_000);
    expect(keys[1]!.expiresAt).toBeUndefined();
    expect((await call('POST', '/admin/sources/shop/disable')).status).toBe(200);
    expect(store.records.get('shop')!.enabled).toBe(false);
    expect((await call('POST', '/admin/sources/shop/enable')).status).toBe(200);
    expect(store.records.get('shop')!.enabled).toBe(true);
    const listed = await call('GET', '/admin/sources');
    expect((listed.body.sources as SourceRecord[]).map((s) => s.name)).toEqual(['shop']);
    expect((await call('POST', '/admin/forget', { source: 'shop', key: 'v1' })).status).toBe(202);
    expect(store.forgets).toEqual(['shop/v1']);
    expect((await call('POST', '/admin/forget', { source: 'none', key: 'v1' })).status).toBe(404);
    expect((await call('POST', '/admin/sources/none/disable')).status).toBe(404);
  });
});
