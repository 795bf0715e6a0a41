/**
 * A subscription resumes on another edge through nginx: a visitor's dashboard subscribes,
 * receives five processed events, and its edge is SIGKILLed. The other edge was restarted
 * (its ring starts after the position, as on any edge that did not serve it), five more
 * events arrive, and the reconnect with `Last-Event-ID` receives exactly the events after
 * the position: the last three of the first five, then the next five, once each. Before
 * the catch-up from Kafka, that reconnect was answered 410.
 */
import { readState } from '../../services/cli/fleet/state';
import { cli } from '../support/fleet-setup';
import { waitFor } from '../support/kafka-helpers';
import { subscribeSse } from '../support/sse';
import type { SseSubscription } from '../support/sse';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const idsOf = (sub: SseSubscription): string[] =>
  sub.events.map((e) => (JSON.parse(e.data) as { id: string }).id);

/** The edge's count of open subscriptions, from its own port. */
async function subscribersOn(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^intake_edge_subscribers(?:\{[^}]*\})? (\d+)$/m.exec(text);
  return Number(m?.[1] ?? 0);
}

describe('subscription resume through nginx', () => {
  it('resumes on another edge from Kafka with exactly the events after Last-Event-ID', async () => {
    const apiKey = e2eApiKey();
    const visitor = `resume-${Date.now()}`;
    const url = `${E2E_FLEET.baseUrl}/v1/subscribe/processed?key=${visitor}&api_key=${apiKey}`;
    const post = async (ids: string[]): Promise<void> => {
      const res = await fetch(`${E2E_FLEET.baseUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(
          ids.map((id) => ({ id, type: 'page_view', key: visitor, data: { path: '/' } })),
        ),
      });
      expect(res.status).toBe(202);
    };
    const first = Array.from({ length: 5 }, (_, i) => `${visitor}-a${i}`);
    const second = Array.from({ length: 5 }, (_, i) => `${visitor}-b${i}`);

    const edges = readState(E2E_FLEET.stateDir)!.processes.filter((p) => p.kind === 'edge');
    expect(edges).toHaveLength(2);
    const before = await Promise.all(edges.map((e) => subscribersOn(e.port)));
    const sub = subscribeSse(url);
    expect((await sub.opened).status).toBe(200);
    const after = await Promise.all(edges.map((e) => subscribersOn(e.port)));
    const added = after.map((n, i) => n - before[i]!);
    expect([...added].sort()).toEqual([0, 1]);
    const serving = edges[added.indexOf(1)]!;
    const other = edges.find((e) => e !== serving)!;
    await post(first);
    await waitFor(() => sub.events.length >= first.length, { what: 'the first events' });
    expect(idsOf(sub)).toEqual(first);
    const position = sub.events[1]!.id!;

    let killed = false;
    try {
      // The other edge starts afresh: its ring begins after the position.
      cli('restart', other.name);
      process.kill(serving.pid, 'SIGKILL');
      killed = true;
      await sub.done;
      await post(second);

      const resumed = subscribeSse(url, { 'last-event-id': position });
      const res = await resumed.opened;
      expect(res.status).toBe(200);
      const expected = [...first.slice(2), ...second];
      await waitFor(() => resumed.events.length >= expected.length, {
        what: 'the events after the position',
      });
      await new Promise((r) => setTimeout(r, 1000)); // nothing more arrives
      resumed.close();
      await resumed.done;
      expect(idsOf(resumed)).toEqual(expected);
    } finally {
      if (killed) cli('restart', serving.name);
    }
  });
});
