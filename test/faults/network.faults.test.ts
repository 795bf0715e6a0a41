/**
 * Network faults between the fleet and Kafka, through the TCP fault proxy the fault fleet's
 * edges and workers reach the broker by (tcp-fault-proxy.ts): a 30 s cut, added latency,
 * and connection resets, each under steady load through nginx and audited: zero
 * acknowledged events lost. During the cut the edges must answer 503, never 202 (nothing
 * can be acknowledged by Kafka), and 202 again once it heals.
 */
import { FAULT_FLEET, apiKey, faultProxy } from './fault-fleet';
import { statusesBetween } from '../../services/cli/load/load';
import { GAP_MS, resetConnections } from './injections';
import { runScenario, sleep } from './scenario';

/** One request straight through nginx, not retried: its status (0: no answer). */
async function probe(n: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${FAULT_FLEET.httpPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey()}` },
      body: JSON.stringify([
        { id: `probe-${Date.now()}-${n}`, type: 'load_tick', key: 'probe', data: { n } },
      ]),
      signal: AbortSignal.timeout(30_000),
    });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

afterEach(async () => {
  await faultProxy().setMode({ kind: 'pass' }); // a failed scenario must not leave a cut behind
});

describe('network faults between the fleet and Kafka (fault proxy, steady load, audited)', () => {
  it('a 30 s cut (blackhole): 503s while Kafka cannot ack, never 202; 202s after; nothing lost', async () => {
    let probes: number[] = [];
    let cut = { from: 0, to: 0 };
    const r = await runScenario('kafka-cut-30s', async () => {
      await sleep(GAP_MS);
      await faultProxy().setMode({ kind: 'blackhole' });
      const from = Date.now();
      cut = { from, to: from };
      // Requests sent into the cut, each answered by the edge's ack timeout (10 s), before it heals.
      const sent = [1_000, 6_000, 12_000, 18_000].map((at, n) => sleep(at).then(() => probe(n)));
      await sleep(30_000);
      cut.to = Date.now();
      await faultProxy().setMode({ kind: 'pass' });
      probes = await Promise.all(sent);
      return { from, to: Date.now() };
    });
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(probes).toEqual([503, 503, 503, 503]);
    // Acks Kafka sent just before the cut may still be on their way for a moment; after
    // that, no 202 until it heals.
    expect(statusesBetween(r.answers, cut.from + 1000, cut.to)['202']).toBeUndefined();
    expect(r.statusesDuring['503']).toBeGreaterThan(0);
    expect(r.statusesAfter['202']).toBeGreaterThan(0);
  });

  it('300 ms added each way for 15 s: slower, nothing lost', async () => {
    const r = await runScenario('kafka-latency-300ms', async () => {
      await sleep(GAP_MS);
      const from = Date.now();
      await faultProxy().setMode({ kind: 'latency', ms: 300 });
      await sleep(15_000);
      await faultProxy().setMode({ kind: 'pass' });
      return { from, to: Date.now() };
    });
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(r.statusesDuring['202']).toBeGreaterThan(0);
    expect(r.statusesAfter['202']).toBeGreaterThan(0);
  });

  it('every fleet<->Kafka connection reset, 4 times: nothing lost', async () => {
    const r = await runScenario('kafka-connection-resets-x4', async () => {
      const window = await resetConnections(4);
      expect(window.reset).toBeGreaterThan(0);
      return window;
    });
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(r.statusesAfter['202']).toBeGreaterThan(0);
  });
});
