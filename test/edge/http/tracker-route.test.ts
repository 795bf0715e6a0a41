/**
 * `GET /v1/intake.js`: the tracker bundled by esbuild from `clients/browser/` (built here
 * as `npm run build:tracker` builds it), served without a key, gzipped on request, with
 * an ETag answered 304 and cache headers; 404 on an edge where it was not built. The
 * bundle stays under its budget of 5 KB gzipped.
 */
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { parseApiKeys } from '../../../services/edge/http/auth';
import { trackerScript } from '../../../services/edge/http/tracker-route';
import type { TrackerScript } from '../../../services/edge/http/tracker-route';
import { MemorySink } from '../../support/fakes';
import { startTestApp } from '../../support/edge-app';
import { ROOT } from '../../support/test-env';

async function bundle(): Promise<Buffer> {
  const out = await build({
    entryPoints: [join(ROOT, 'clients', 'browser', 'intake.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2019',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return Buffer.from(out.outputFiles[0]!.contents);
}

describe('GET /v1/intake.js', () => {
  let script: TrackerScript;
  beforeAll(async () => {
    script = trackerScript(await bundle());
  });

  const serve = (tracker: TrackerScript | null) =>
    startTestApp({
      sink: new MemorySink(),
      tracker,
      auth: {
        required: true,
        keys: parseApiKeys(['web:some-key-0123456789']),
        rateLimit: { perSecond: 100, burst: 100 },
      },
    });

  it('bundles the tracker under 5 KB gzipped, defining the global intake API', () => {
    expect(gzipSync(script.js, { level: 9 }).length).toBeLessThan(5 * 1024);
    const text = script.js.toString();
    for (const name of ['init', 'track', 'flush', 'visitorId', 'score', 'stats'])
      expect(text).toContain(name);
    expect(text).toContain('sendBeacon');
  });

  it('serves it without a key, gzipped, with an ETag and cache headers; 304 when unchanged', async () => {
    const app = await serve(script);
    try {
      const res = await fetch(`${app.base}/v1/intake.js`, {
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
      const etag = res.headers.get('etag');
      expect(etag).toBe(script.etag);
      expect(Buffer.from(await res.arrayBuffer())).toEqual(script.js); // fetch gunzips
      const raw = await fetch(`${app.base}/v1/intake.js`, {
        headers: { 'accept-encoding': 'identity' },
      });
      expect(raw.headers.get('content-encoding')).toBeNull();
      expect(Buffer.from(await raw.arrayBuffer())).toEqual(script.js);
      expect(gunzipSync(script.gzip)).toEqual(script.js);

      const again = await fetch(`${app.base}/v1/intake.js`, {
        headers: { 'if-none-match': etag! },
      });
      expect(again.status).toBe(304);
      const changed = await fetch(`${app.base}/v1/intake.js`, {
        headers: { 'if-none-match': '"other"' },
      });
      expect(changed.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('changes its ETag with its content', () => {
    expect(trackerScript(Buffer.from('a')).etag).not.toBe(trackerScript(Buffer.from('b')).etag);
  });

  it('answers 404 with the build command where the tracker was not built', async () => {
    const app = await serve(null);
    try {
      const res = await fetch(`${app.base}/v1/intake.js`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/npm run build/);
    } finally {
      await app.close();
    }
  });
});
