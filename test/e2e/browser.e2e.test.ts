/**
 * Browsers as producers, in a real Chromium against the e2e fleet (nginx, two edges, two
 * workers, one broker): pages served by a static server on another origin load the
 * tracker from the edge (`/v1/intake.js`) and send with it and with a bare `sendBeacon`.
 * Every event must reach `intake.processed` with the id it got on the page, once per id as
 * a consumer that deduplicates by id sees it: tracked events, events tracked offline that
 * survive a reload and go once back online, and events tracked just before the page
 * closes (through the beacon). Skipped, loudly, where Chromium cannot be installed; a
 * failure under CI=true (test/support/components.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Consumer } from '../../lib/kafka/port';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Deduplicator } from '../../lib/dedup';
import { CHROMIUM, hasChromium, launchChromium, serveStatic } from '../support/browser';
import type { StaticSite } from '../support/browser';
import { requireComponent } from '../support/components';
import { randomName, testKafka, waitFor } from '../support/kafka-helpers';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const available = requireComponent(
  'chromium',
  hasChromium() ? null : `${CHROMIUM} is not there`,
  'browser tests',
);
const maybe = available ? describe : describe.skip;

declare const intake: {
  init(options: Record<string, unknown>): void;
  track(type: string, data?: unknown, options?: { key?: string }): string;
  flush(): Promise<{ queued: number; sent: number; rejected: number; dropped: number }>;
  stats(): { queued: number; sent: number; rejected: number; dropped: number };
  visitorId(): string;
};

declare const navigator: { onLine: boolean; sendBeacon(url: string, body: string): boolean };

const EDGE = E2E_FLEET.baseUrl;

/** A test page: the two lines a site adds, with test tuning (`flushDelayMs`). */
const page = (flushDelayMs: number): string => `<!doctype html>
<meta charset="utf-8"><title>shop</title>
<script src="${EDGE}/v1/intake.js"></script>
<script>intake.init({ url: '${EDGE}', key: '${e2eApiKey()}', flushDelayMs: ${flushDelayMs}, maxBackoffMs: 2000 })</script>
<p>a page of the shop</p>`;

/** Everything that reaches intake.processed while the suite runs: id -> times seen, in order. */
class ProcessedIds {
  readonly order: string[] = [];
  private consumer: Consumer | null = null;

  async start(): Promise<void> {
    const kafka = testKafka(E2E_FLEET.brokers);
    this.consumer = kafka.consumer({ groupId: randomName('browser-e2e') });
    await this.consumer.connect();
    await this.consumer.subscribe('intake.processed', { fromBeginning: false });
    // the group owns its partitions (and starts at their ends) before any page sends
    const joined = new Promise<void>((resolve) => this.consumer!.onGroupJoin(() => resolve()));
    await this.consumer.run({
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          const id = message.headers['intake-id']?.toString();
          const value = JSON.parse(message.value?.toString() ?? '{}') as { id?: string };
          if (id && value.id === id) this.order.push(id);
        }
        return Promise.resolve();
      },
    });
    await joined;
  }

  async waitForAll(ids: string[]): Promise<void> {
    await waitFor(() => ids.every((id) => this.order.includes(id)), {
      timeoutMs: 30_000,
      what: `${ids.length} events in intake.processed`,
    });
  }

  stop(): Promise<void> {
    return this.consumer?.disconnect() ?? Promise.resolve();
  }
}

maybe('browsers as producers (real Chromium)', () => {
  let browser: Browser;
  let site: StaticSite;
  const processed = new ProcessedIds();
  const tracked: string[] = [];

  beforeAll(async () => {
    [browser, site] = await Promise.all([
      launchChromium(),
      serveStatic({ '/page.html': page(100), '/closing.html': page(600_000) }),
      processed.start(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), site?.close(), processed.stop()]);
  });

  let context: BrowserContext;
  beforeEach(async () => {
    context = await browser.newContext(); // its own storage: a new visitor
  });
  afterEach(() => context.close());

  const open = async (path: string): Promise<Page> => {
    const p = await context.newPage();
    await p.goto(`${site.origin}${path}`);
    return p;
  };

  it('delivers events tracked on a page of another origin, and a bare sendBeacon, answered 202', async () => {
    const p = await open('/page.html');
    const ids = await p.evaluate(() => [
      intake.track('page_view', { path: '/shoes' }),
      intake.track('product_view', { sku: 'S1', price: 20 }),
      intake.track('add_to_cart', { sku: 'S1', quantity: 1, price: 20 }),
    ]);
    expect(await p.evaluate(() => intake.flush())).toMatchObject({ queued: 0, sent: 3 });

    const beaconId = randomName('beacon');
    const answer = p.waitForResponse(
      (r) => r.url().includes('/v1/events') && (r.request().postData() ?? '').includes(beaconId),
    );
    const handed = await p.evaluate(
      ([url, id]) =>
        navigator.sendBeacon(
          url!,
          JSON.stringify([{ id, type: 'page_view', data: { path: '/' } }]),
        ),
      [`${EDGE}/v1/events?api_key=${e2eApiKey()}`, beaconId],
    );
    expect(handed).toBe(true);
    const res = await answer;
    expect(res.status()).toBe(202);
    expect(res.request().headers()['content-type']).toMatch(/^text\/plain/);

    await processed.waitForAll([...ids, beaconId]);
    tracked.push(...ids, beaconId);
  });

  it('keeps events tracked offline through a reload, and delivers them once back online', async () => {
    const p = await open('/page.html');
    await context.setOffline(true);
    const ids = await p.evaluate(() => [
      intake.track('page_view', { path: '/offline' }),
      intake.track('product_view', { sku: 'S2', price: 35 }),
      intake.track('add_to_cart', { sku: 'S2', quantity: 2, price: 35 }),
    ]);
    expect(await p.evaluate(() => intake.flush())).toMatchObject({ queued: 3, sent: 0 });

    await p.goto(`${site.origin}/page.html`); // a reload, from the browser's cache: offline
    expect(await p.evaluate(() => navigator.onLine)).toBe(false);
    expect(await p.evaluate(() => intake.flush())).toMatchObject({ queued: 3, sent: 0 });

    await context.setOffline(false);
    const stats = await waitFor(
      () => p.evaluate(() => intake.stats()).then((s) => s.sent === 3 && s),
      { timeoutMs: 20_000, what: 'the reloaded page to send the offline events' },
    );
    expect(stats).toMatchObject({ queued: 0, sent: 3, dropped: 0 });
    await processed.waitForAll(ids);
    tracked.push(...ids);
  });

  it('delivers events tracked just before the page closes, through the beacon', async () => {
    // a flush delay far beyond the test: no fetch is ever made, and the context is closed
    // after the test, so no later page resends them: only the beacon can deliver them
    const p = await open('/closing.html');
    const ids = await p.evaluate(() => [
      intake.track('product_view', { sku: 'S3', price: 12 }),
      intake.track('add_to_cart', { sku: 'S3', quantity: 1, price: 12 }),
    ]);
    expect(await p.evaluate(() => intake.stats())).toMatchObject({ queued: 2, sent: 0 });
    await p.close({ runBeforeUnload: true });
    await processed.waitForAll(ids);
    tracked.push(...ids);
  });

  it('serves the shop demo, whose visitor sees a propensity score after browsing', async () => {
    const p = await context.newPage();
    await p.goto(`${EDGE}/demo/`);
    await p.click('[data-view="KET-03"]');
    await p.click('[data-add="KET-03"]');
    await p.click('[data-view="MUG-02"]');
    await p
      .locator('#score')
      .filter({ hasText: /^\d\.\d{3}$/ })
      .waitFor({ timeout: 30_000 });
    const score = Number(await p.locator('#score').textContent());
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(1);
    expect(await p.locator('#flow li').count()).toBeGreaterThanOrEqual(4);
    expect(await p.locator('#flow').textContent()).toContain('acknowledged');
  });

  it("keeps the key given in the query or in Segment's settings path out of nginx's access log", async () => {
    const settings = await fetch(`${EDGE}/v1/projects/${e2eApiKey()}/settings`);
    expect(settings.status).toBe(200);
    const log = join(E2E_FLEET.stateDir, 'logs', 'nginx-access.log');
    const text = await waitFor(
      () => {
        const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
        return (
          t.includes('/v1/events?api_key=[Redacted]') &&
          t.includes('/v1/projects/[Redacted]/settings') &&
          t
        );
      },
      { timeoutMs: 10_000, what: 'the access log to show the beacon and settings requests' },
    );
    expect(text).not.toContain(e2eApiKey());
  });

  it('delivers each event once per id to a consumer that deduplicates by id', () => {
    expect(tracked.length).toBeGreaterThan(0);
    const dedup = new Deduplicator();
    const wanted = new Set(tracked);
    const delivered = processed.order.filter((id) => wanted.has(id) && dedup.firstTime(id));
    expect(delivered.sort()).toEqual([...tracked].sort());
  });
});
