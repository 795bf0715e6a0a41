/**
 * The browser SDKs from npm (`@segment/analytics-next`, `@snowplow/browser-tracker`),
 * bundled by esbuild into one script for a test page: it defines
 * `window.sdkTest.segment(writeKey, cdnURL)` and `window.sdkTest.snowplow(collector, appId)`,
 * which load each SDK the way a site does, and track through them.
 */
import { build } from 'esbuild';
import { ROOT } from './test-env';

const ENTRY = `
import { AnalyticsBrowser } from '@segment/analytics-next';
import { newTracker, trackPageView, trackStructEvent } from '@snowplow/browser-tracker';

window.sdkTest = {
  /** Loads analytics.js from the settings at cdnURL, tracks, resolves with the messageId. */
  async segment(writeKey, cdnURL, event, properties) {
    const analytics = AnalyticsBrowser.load({ writeKey, cdnURL }, { disableClientPersistence: true });
    const ctx = await analytics.track(event, properties);
    return ctx.event.messageId;
  },
  /** A tracker for appId; resolves with the eids of a page view and a structured event. */
  async snowplow(collector, appId) {
    const eids = [];
    newTracker('sp', collector, {
      appId,
      bufferSize: 1,
      plugins: [{ afterTrack: (payload) => eids.push(payload.eid) }],
    });
    trackPageView();
    trackStructEvent({ category: 'shop', action: 'add', value: 2 });
    return eids;
  },
};
`;

export async function sdkBundle(): Promise<string> {
  const out = await build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2019',
    define: { 'process.env.NODE_ENV': '"production"' },
    minify: true,
    logLevel: 'silent',
  });
  // inlined into a <script> element: no `</script` may end it early
  return out.outputFiles[0]!.text.replace(/<\/script/gi, '<\\/script');
}
