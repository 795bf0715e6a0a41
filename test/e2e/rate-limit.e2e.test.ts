/**
 * The per-key rate limit holds across the fleet, as docs/api.md states it: through nginx
 * and both edges, HTTP requests and WebSocket upgrades of one key together get about the
 * key's burst, not the burst once per edge and once more per kind of request.
 *
 * The key (`RATE_LIMITED` in test-env.ts) has a fleet-wide limit of 1 a second, burst 40.
 * The test sends 80 requests and 80 upgrades, 8 at a time, and counts the answers: with
 * one bucket per key across the fleet about 40 succeed (plus 1 a second of refill while
 * the burst runs); with a bucket per edge and per kind, all 160 would. The bound is in
 * counts only, loose enough for a slow machine (it allows 20 s of refill).
 */
import { WebSocket } from 'ws';
import { metricValue } from '../../services/cli/fleet/probe';
import { waitFor } from '../support/kafka-helpers';
import { E2E_FLEET, RATE_LIMITED } from '../support/test-env';

const EDGE_PORTS = [E2E_FLEET.httpPort + 1, E2E_FLEET.httpPort + 2];
const EACH = 80; // HTTP requests, and as many WebSocket upgrades
const CONCURRENCY = 8;

type Outcome = 'accepted' | 'limited' | 'other';

/** The live edges an edge counts; NaN while it cannot be asked (e.g. restarting). */
async function liveEdges(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return metricValue(text, 'intake_edge_live_edges');
  } catch {
    return NaN;
  }
}

/** The edge's own 429 names the key; nginx's per-address 429 would name the address. */
function outcomeOf(status: number, body: string): Outcome {
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 429 && body.includes('for this key')) return 'limited';
  return 'other';
}

async function post(i: number): Promise<Outcome> {
  const res = await fetch(`${E2E_FLEET.baseUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${RATE_LIMITED.key}` },
    body: JSON.stringify({ type: 'rate-limit-e2e', key: `rl-${i}` }),
  });
  return outcomeOf(res.status, await res.text());
}

function upgrade(): Promise<Outcome> {
  const url = `${E2E_FLEET.baseUrl.replace('http', 'ws')}/v1/stream?api_key=${RATE_LIMITED.key}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('upgrade', () => resolve('accepted'));
    ws.on('open', () => ws.close(1000));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(outcomeOf(res.statusCode ?? 0, body)));
    });
    ws.on('error', () => resolve('other'));
  });
}

describe('rate limit across the fleet', () => {
  it('gives one key about its configured burst through nginx and 2 edges, HTTP and WebSocket upgrades together', async () => {
    // Each edge must count 2 live edges (after an edge was killed, the dead one counts
    // until its consumer session times out).
    await waitFor(
      async () => (await Promise.all(EDGE_PORTS.map(liveEdges))).every((n) => n === 2),
      {
        what: 'both edges counting 2 live edges',
        timeoutMs: 60_000,
      },
    );
    const tasks = Array.from({ length: 2 * EACH }, (_, i) =>
      i % 2 === 0 ? () => post(i) : () => upgrade(),
    );
    const outcomes: Outcome[] = [];
    const started = Date.now();
    for (let i = 0; i < tasks.length; i += CONCURRENCY)
      outcomes.push(...(await Promise.all(tasks.slice(i, i + CONCURRENCY).map((t) => t()))));
    const count = (o: Outcome): number => outcomes.filter((x) => x === o).length;
    const counts = {
      accepted: count('accepted'),
      limited: count('limited'),
      other: count('other'),
    };
    const seconds = (Date.now() - started) / 1000;
    console.log(`rate limit e2e: ${JSON.stringify(counts)} in ${seconds.toFixed(1)} s`);
    expect(counts.other).toBe(0);
    // At least the burst of one edge (a skewed balancer can send everything to one);
    // at most the fleet-wide burst plus 20 s of refill at 1 a second.
    expect(counts.accepted).toBeGreaterThanOrEqual(RATE_LIMITED.burst / 2);
    expect(counts.accepted).toBeLessThanOrEqual(RATE_LIMITED.burst + 20 * RATE_LIMITED.perSecond);
    expect(counts.limited).toBe(2 * EACH - counts.accepted);
  });
});
