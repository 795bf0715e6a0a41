/**
 * The producers' own server SDKs through the real fleet (nginx, 2 edges, 2 workers), with
 * nothing but the host and the key set: Segment's `@segment/analytics-node` and
 * Snowplow's `@snowplow/node-tracker`, from npm. Each event arrives in intake.processed
 * (not the DLQ) with the SDK's own id (`messageId`, `eid`) and the mapped key and type;
 * a 429 from a key's rate limit is retried by the SDK (it honours `Retry-After`) and
 * nothing is lost; bad input gets Segment's answers (400 for its limits, 401/403 for
 * keys) and one malformed message in a batch does not keep the others out.
 */
import { randomUUID } from 'node:crypto';
import { Analytics } from '@segment/analytics-node';
import { buildPageView, buildStructEvent, newTracker } from '@snowplow/node-tracker';
import { processedEnvelopes } from '../support/processed';
import { E2E_FLEET, SDK_LIMITED, e2eApiKey } from '../support/test-env';

const RUN = randomUUID().slice(0, 8);
const processed = processedEnvelopes;

const basic = (key: string): string => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

describe('Segment analytics-node through the fleet', () => {
  it('delivers track, identify, page, group and alias with id = messageId, key and type mapped', async () => {
    const analytics = new Analytics({
      writeKey: e2eApiKey(),
      host: E2E_FLEET.baseUrl,
      flushAt: 5,
      flushInterval: 200,
    });
    const errors: unknown[] = [];
    analytics.on('error', (err) => errors.push(err));
    const id = (call: string): string => `seg-${RUN}-${call}`;
    analytics.track({
      userId: 'u-1',
      event: 'Order Completed',
      messageId: id('track'),
      properties: { total: 9 },
    });
    analytics.identify({ anonymousId: 'a-1', traits: { plan: 'pro' }, messageId: id('identify') });
    analytics.page({
      userId: 'u-1',
      name: 'Pricing',
      properties: { path: '/pricing' },
      messageId: id('page'),
    });
    analytics.group({ userId: 'u-1', groupId: 'g-1', messageId: id('group') });
    analytics.alias({ userId: 'u-1', previousId: 'a-1', messageId: id('alias') });
    await analytics.closeAndFlush({ timeout: 30_000 });
    expect(errors).toEqual([]);

    const found = await processed(['track', 'identify', 'page', 'group', 'alias'].map(id));
    const summary = [...found.values()]
      .map((e) => [e.id, e.key, e.type])
      .sort((a, b) => a[0]!.localeCompare(b[0]!));
    expect(summary).toEqual([
      [id('alias'), 'u-1', 'alias'],
      [id('group'), 'u-1', 'group'],
      [id('identify'), 'a-1', 'identify'],
      [id('page'), 'u-1', 'page'],
      [id('track'), 'u-1', 'Order Completed'],
    ]);
    expect(found.get(id('track'))!.data).toMatchObject({ properties: { total: 9 }, type: 'track' });
    expect(found.get(id('page'))!.data).toMatchObject({ path: '/pricing' });
    expect(found.get(id('track'))!.source).toBe('local');
  });

  it("retries the fleet's 429 after Retry-After and loses nothing", async () => {
    const analytics = new Analytics({
      writeKey: SDK_LIMITED.key,
      host: E2E_FLEET.baseUrl,
      flushAt: 1,
      maxRetries: 10,
    });
    const statuses: number[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    const errors: unknown[] = [];
    analytics.on('error', (err) => errors.push(err));
    const ids = Array.from({ length: 3 * SDK_LIMITED.burst }, (_, i) => `seg-${RUN}-rl-${i}`);
    for (const messageId of ids) analytics.track({ userId: 'rl', event: 'Limited', messageId });
    await analytics.closeAndFlush({ timeout: 90_000 });
    console.log(`segment 429 e2e: answers ${JSON.stringify(countBy(statuses))}`);
    expect(statuses).toContain(429);
    expect(errors).toEqual([]);
    const found = await processed(ids);
    expect([...found.keys()].sort()).toEqual([...ids].sort());
  });

  it('answers bad input as Segment does, and better for a malformed message', async () => {
    const post = (path: string, body: unknown, key = e2eApiKey()) =>
      fetch(`${E2E_FLEET.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic(key) },
        body: JSON.stringify(body),
      });
    const message = (i: number, extra: Record<string, unknown> = {}) => ({
      type: 'track',
      event: 'Bad Input',
      userId: 'bad',
      messageId: `seg-${RUN}-bad-${i}`,
      ...extra,
    });
    const big = await post('/v1/track', message(0, { properties: { x: 'x'.repeat(33_000) } }));
    expect(big.status).toBe(400);
    const batch = Array.from({ length: 18 }, (_, i) =>
      message(100 + i, { properties: { x: 'x'.repeat(30_000) } }),
    );
    expect((await post('/v1/batch', { batch })).status).toBe(400);
    expect((await post('/v1/batch', { batch: [message(1)] }, 'not-a-key')).status).toBe(403);
    const noKey = await fetch(`${E2E_FLEET.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ batch: [message(1)] }),
    });
    expect(noKey.status).toBe(401);

    const mixed = await post('/v1/batch', {
      batch: [
        message(1),
        { type: 'track', userId: 'bad', messageId: `seg-${RUN}-bad-2` },
        message(3),
      ],
    });
    expect(mixed.status).toBe(200);
    expect(await mixed.json()).toMatchObject({
      success: false,
      accepted: 2,
      rejected: [{ index: 1, messageId: `seg-${RUN}-bad-2` }],
    });
    const found = await processed([`seg-${RUN}-bad-1`, `seg-${RUN}-bad-3`]);
    expect(found.size).toBe(2);
  });
});

describe('Snowplow node-tracker through the fleet', () => {
  it('delivers a page view and a structured event with id = eid', async () => {
    const failures: unknown[] = [];
    const tracker = newTracker(
      { namespace: 'e2e', appId: 'backend' },
      {
        endpoint: E2E_FLEET.baseUrl,
        bufferSize: 1,
        customHeaders: { 'X-API-Key': e2eApiKey() },
        onRequestFailure: (failure) => failures.push(failure),
      },
    );
    tracker.setDomainUserId(`duid-${RUN}`);
    const pageView = tracker.track(
      buildPageView({ pageUrl: 'https://shop.example/products/42', pageTitle: 'P' }),
    );
    const struct = tracker.track(buildStructEvent({ category: 'shop', action: 'add', value: 2 }));
    await tracker.flush();
    expect(failures).toEqual([]);
    const eids = [pageView?.eid, struct?.eid].map(String);
    const found = await processed(eids);
    expect(found.get(eids[0]!)).toMatchObject({
      type: 'page_view',
      key: `duid-${RUN}`,
      source: 'local',
      data: { path: '/products/42', aid: 'backend' },
    });
    expect(found.get(eids[1]!)).toMatchObject({
      type: 'struct',
      data: { category: 'shop', action: 'add', value: 2 },
    });
  });
});

function countBy(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
