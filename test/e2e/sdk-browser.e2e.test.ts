/**
 * The producers' own browser SDKs from npm in a real Chromium, on a page of another
 * origin than the fleet, with nothing but the host and the key (or app id) set:
 * `@segment/analytics-next` loading its settings from the fleet (`cdnURL`), and
 * `@snowplow/browser-tracker` with the app id `local` (registered to the source `local`
 * on the e2e fleet, as on `npm run up`'s); and a bare `<img>` pixel (`GET /i`). Each
 * event arrives in intake.processed with the SDK's own id. Skipped, loudly, where
 * Chromium cannot be installed.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { hasChromium, launchChromium, serveStatic } from '../support/browser';
import type { StaticSite } from '../support/browser';
import { processedEnvelopes } from '../support/processed';
import { sdkBundle } from '../support/sdk-bundles';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const available = hasChromium();
if (!available)
  console.warn(
    '######## SDK browser tests SKIPPED: /usr/bin/chromium is missing (scripts/install-chromium.sh installs it as root) ########',
  );
const maybe = available ? describe : describe.skip;

declare const sdkTest: {
  segment(writeKey: string, cdnURL: string, event: string, properties: unknown): Promise<string>;
  snowplow(collector: string, appId: string): Promise<string[]>;
};

const EDGE = E2E_FLEET.baseUrl;

maybe('browser SDKs as producers (real Chromium)', () => {
  let browser: Browser;
  let site: StaticSite;

  beforeAll(async () => {
    const bundle = await sdkBundle();
    const pixelId = randomUUID();
    const pixel = new URLSearchParams({
      e: 'pv',
      eid: pixelId,
      aid: 'local',
      url: 'http://mail.example/newsletter/7',
    });
    [browser, site] = await Promise.all([
      launchChromium(),
      serveStatic({
        '/shop.html': `<!doctype html><meta charset="utf-8"><title>shop</title><script>${bundle}</script><p>shop</p>`,
        '/mail.html': `<!doctype html><meta charset="utf-8"><title>mail</title><img id="pixel" data-eid="${pixelId}" src="${EDGE}/i?${pixel.toString()}" width="1" height="1">`,
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), site?.close()]);
  });

  const open = async (path: string): Promise<Page> => {
    const p = await (await browser.newContext()).newPage();
    await p.goto(`${site.origin}${path}`);
    return p;
  };

  it('analytics.js loads its settings from the fleet and delivers analytics.track', async () => {
    const p = await open('/shop.html');
    const settings = p.waitForResponse((r) => r.url().includes('/settings'));
    const sent = p.waitForResponse((r) => r.url() === `${EDGE}/v1/t`);
    const messageId = await p.evaluate(
      ([key, cdn]) => sdkTest.segment(key!, cdn!, 'Order Completed', { total: 20 }),
      [e2eApiKey(), EDGE],
    );
    expect((await settings).status()).toBe(200);
    expect((await sent).status()).toBe(200);
    const found = await processedEnvelopes([messageId]);
    expect(found.get(messageId)).toMatchObject({
      type: 'Order Completed',
      source: 'local',
      data: { properties: { total: 20 }, context: { page: { path: '/shop.html' } } },
    });
    expect(found.get(messageId)!.key).toMatch(/.+/); // the anonymousId analytics.js made
  });

  it("Snowplow's browser tracker delivers a page view and a structured event by its app id", async () => {
    const p = await open('/shop.html');
    const eids = await p.evaluate((collector) => sdkTest.snowplow(collector, 'local'), EDGE);
    expect(eids).toHaveLength(2);
    const found = await processedEnvelopes(eids);
    expect(found.get(eids[0]!)).toMatchObject({
      type: 'page_view',
      source: 'local',
      data: { path: '/shop.html', aid: 'local' },
    });
    expect(found.get(eids[1]!)).toMatchObject({
      type: 'struct',
      data: { category: 'shop', action: 'add' },
    });
    // the browser tracker keys by its domain user id
    const pageView = found.get(eids[0]!)!;
    expect(pageView.key).toBe((pageView.data as { duid?: string }).duid);
  });

  it('an <img> pixel delivers its event', async () => {
    const p = await open('/mail.html');
    const eid = (await p.locator('#pixel').getAttribute('data-eid'))!;
    // the GIF was loaded: the edge answered once the event was stored
    await p.waitForFunction('document.getElementById("pixel").complete');
    expect(await p.evaluate('document.getElementById("pixel").naturalWidth')).toBe(1);
    const found = await processedEnvelopes([eid]);
    expect(found.get(eid)).toMatchObject({
      type: 'page_view',
      source: 'local',
      data: { path: '/newsletter/7' },
    });
  });
});
