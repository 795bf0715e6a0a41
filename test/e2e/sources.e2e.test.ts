/**
 * Sources on the real fleet (2 edges, 2 workers), written with the CLI:
 *
 * - a per-day quota holds across both edges: requests alternate between the edges, each
 *   sent more than a usage report interval (`INTAKE_USAGE_REPORT_MS`, 1 s) after the
 *   previous answer, so each edge knows the other's usage; accepted events stay within
 *   the quota plus one request (a report that arrived late), then 429 with Retry-After;
 * - a source flooding both edges at 10x its per-second quota leaves another source with
 *   0 refused;
 * - forget: the visitor's score goes (404 from the edges), and its later events are
 *   accepted and dropped.
 *
 * Each source's settings are followed by a key rotation (grace 0): an edge that accepts
 * the new key has applied every record before it. Durations are bounded by counts.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from '../../lib/lifecycle';
import { waitFor } from '../support/kafka-helpers';
import { E2E_FLEET, ROOT } from '../support/test-env';

const run = promisify(execFile);
const EDGES = [E2E_FLEET.httpPort + 1, E2E_FLEET.httpPort + 2].map((p) => `http://127.0.0.1:${p}`);
const REPORT_MS = 1000;

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      resolve(ROOT, 'dist', 'services', 'cli', 'main.js'),
      ...args,
      '--brokers',
      E2E_FLEET.brokers.join(','),
    ],
    { timeout: 60_000 },
  );
  return stdout.trim();
}

interface Answer {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

async function post(base: string, key: string, events: unknown): Promise<Answer> {
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(events),
  });
  const text = await res.text();
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** A new source with `settings` applied on both edges; its key. */
async function source(name: string, ...settings: string[]): Promise<string> {
  await cli('sources', 'add', name, '--json');
  if (settings.length > 0) await cli('sources', 'set', name, ...settings);
  const { key } = JSON.parse(
    await cli('sources', 'rotate-key', name, '--grace', '0', '--json'),
  ) as {
    key: string;
  };
  for (const edge of EDGES)
    await waitFor(async () => (await post(edge, key, [])).status !== 403, {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: `${name} on ${edge}`,
    });
  return key;
}

const events = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ type: 'sources-e2e', key: `${prefix}-${i}` }));

describe('sources on the real fleet', () => {
  it('holds a per-day quota across both edges, then answers 429 with Retry-After', async () => {
    const PER_DAY = 30;
    const BATCH = 5;
    const key = await source('e2e-daily', '--per-day', String(PER_DAY));
    let accepted = 0;
    let refused: Answer | undefined;
    for (let i = 0; i < 2 * (PER_DAY / BATCH) && !refused; i++) {
      const answer = await post(EDGES[i % 2]!, key, events(BATCH, `daily-${i}`));
      if (answer.status === 202) accepted += BATCH;
      else refused = answer;
      await sleep(1.5 * REPORT_MS);
    }
    expect(refused).toBeDefined();
    expect(refused!.status).toBe(429);
    expect(Number(refused!.retryAfter)).toBeGreaterThan(0);
    expect(refused!.body).toMatchObject({ source: 'e2e-daily', quota: 'per-day', limit: PER_DAY });
    expect(accepted).toBeGreaterThanOrEqual(PER_DAY);
    expect(accepted).toBeLessThanOrEqual(PER_DAY + BATCH);
    // Both edges refuse it now.
    for (const edge of EDGES) expect((await post(edge, key, events(1, 'after'))).status).toBe(429);
  });

  it('leaves a source with 0 refused while another floods both edges at 10x its quota', async () => {
    const flood = await source('e2e-flood', '--per-second', '20', '--burst', '20');
    const calm = await source('e2e-calm');
    const statuses = { flood: new Map<number, number>(), calm: new Map<number, number>() };
    const count = (m: Map<number, number>, s: number): void => void m.set(s, (m.get(s) ?? 0) + 1);
    // 400 single-event requests, 20 at a time: about 200 events a second or more.
    const flooding = (async () => {
      for (let i = 0; i < 400; i += 20)
        await Promise.all(
          Array.from({ length: 20 }, async (_, j) =>
            count(
              statuses.flood,
              (await post(EDGES[j % 2]!, flood, events(1, `f-${i + j}`))).status,
            ),
          ),
        );
    })();
    const steady = (async () => {
      for (let i = 0; i < 60; i++)
        count(statuses.calm, (await post(EDGES[i % 2]!, calm, events(1, `c-${i}`))).status);
    })();
    await Promise.all([flooding, steady]);
    expect(Object.fromEntries(statuses.calm)).toEqual({ 202: 60 });
    expect(statuses.flood.get(429) ?? 0).toBeGreaterThan(0);
  });

  it('forgets a visitor: its score answers 404, its later events are accepted and dropped', async () => {
    const key = await source('e2e-forget');
    const visitor = `forget-me-${Date.now()}`;
    const control = `${visitor}-control`;
    const view = (id: string) => ({ type: 'page_view', key: id, data: { path: '/' } });
    const score = async (id: string): Promise<number> =>
      (
        await fetch(`${EDGES[0]}/v1/visitors/${id}/score`, {
          headers: { authorization: `Bearer ${key}` },
        })
      ).status;
    expect((await post(EDGES[0]!, key, [view(visitor), view(visitor)])).status).toBe(202);
    await waitFor(async () => (await score(visitor)) === 200, {
      timeoutMs: 30_000,
      what: 'the score',
    });
    await cli('forget', 'e2e-forget', visitor);
    await waitFor(async () => (await score(visitor)) === 404, {
      timeoutMs: 30_000,
      what: 'the score to be gone',
    });
    // Suppressed on both edges: its event is accepted, left out of the answer, never scored.
    for (const edge of EDGES)
      await waitFor(
        async () => {
          const answer = await post(edge, key, [view(visitor), view(control)]);
          return answer.status === 202 && (answer.body.accepted as unknown[]).length === 1;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: `the key suppressed on ${edge}` },
      );
    await waitFor(async () => (await score(control)) === 200, {
      timeoutMs: 30_000,
      what: 'the control visitor scored',
    });
    expect(await score(visitor)).toBe(404);
  });
});
