/**
 * The demo upstream serves, beside its numbered SSE stream, `/healthz`, `/readyz` (not
 * ready once stopping) and `/metrics` (its own counters and Node's defaults) on its port.
 */
import { startDemoUpstream } from '../../services/demo-upstream/demo-upstream';
import type { DemoUpstream } from '../../services/demo-upstream/demo-upstream';

let upstream: DemoUpstream;
let base: string;

beforeEach(async () => {
  upstream = await startDemoUpstream({
    host: '127.0.0.1',
    port: 0,
    ratePerSecond: 200,
    instance: 'demo-test',
  });
  base = `http://127.0.0.1:${upstream.port}`;
});

afterEach(() => upstream.stop());

/** Reads the SSE stream until its first event, then closes it. */
async function firstEvent(): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(`${base}/events`, { signal: controller.signal });
  let text = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += Buffer.from(chunk).toString('utf8');
    if (text.includes('\ndata: ')) break;
  }
  controller.abort();
  return text;
}

const metricValue = (metrics: string, name: string): number =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1]);

describe('demo upstream', () => {
  it('answers /healthz and /readyz with 200 and its instance', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', instance: 'demo-test' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', instance: 'demo-test' });
  });

  it('serves Prometheus metrics: connections and the highest event sent, with Node defaults', async () => {
    expect(await firstEvent()).toContain('event: demo_tick');
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const metrics = await res.text();
    expect(metricValue(metrics, 'intake_demo_upstream_connections')).toBe(1);
    expect(metricValue(metrics, 'intake_demo_upstream_highest_event')).toBeGreaterThanOrEqual(1);
    expect(metrics).toContain('process_cpu_user_seconds_total{service="demo-upstream"');
  });

  it('is not ready once stopping', async () => {
    const ready = upstream.health();
    expect(ready.ok).toBe(true);
    const stopped = upstream.stop();
    expect(upstream.health().ok).toBe(false);
    await stopped;
  });

  it('still answers 404 for other paths and streams events on /events', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect(await firstEvent()).toMatch(/^id: 1$/m);
  });
});
