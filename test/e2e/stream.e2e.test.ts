/**
 * Streams through nginx on the real fleet: 50,000 events over one WebSocket with the
 * bundled client, the edge holding the connection SIGKILLed mid-stream; the client
 * reconnects (nginx sends it to the other edge), resends after its last ack, and every
 * acknowledged event is in intake.raw. Then a dashboard-style SSE subscription through
 * nginx sees exactly the processed events of its visitor.
 */
import { StreamClient } from '../../lib/client/stream-client';
import { readState } from '../../services/cli/fleet/state';
import { cli } from '../support/fleet-setup';
import { readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import { subscribeSse } from '../support/sse';
import { E2E_FLEET, e2eApiKey } from '../support/test-env';

const TOTAL = 50_000;
const KILL_AT = 15_000;

describe('streams through nginx', () => {
  it('loses nothing acknowledged when the edge holding a WebSocket stream is killed', async () => {
    const instances: string[] = [];
    const client = new StreamClient({
      url: `${E2E_FLEET.baseUrl.replace('http', 'ws')}/v1/stream`,
      apiKey: e2eApiKey(),
      window: 5000,
      onEvent: (e) => e.kind === 'connected' && instances.push(e.instance),
    });
    const ids: string[] = [];
    let killed: string | null = null;
    for (let i = 0; i < TOTAL; i++) {
      const id = `ws-e2e-${i}`;
      ids.push(id);
      await client.send({ id, type: 'stream_tick', key: `v-${i % 101}`, data: { i } });
      if (i === KILL_AT) {
        await waitFor(() => client.lastAck > KILL_AT / 2, { what: 'acks before the kill' });
        killed = instances.at(-1)!;
        const edge = readState(E2E_FLEET.stateDir)!.processes.find((p) => p.name === killed)!;
        process.kill(edge.pid, 'SIGKILL');
      }
    }
    await client.drain();
    client.close();
    console.log(
      `WebSocket stream: ${TOTAL} events, edges ${instances.join(' -> ')}, ${client.stats.reconnects} reconnects, last ack ${client.lastAck}`,
    );
    expect(client.lastAck).toBe(TOTAL);
    expect(new Set(instances).size).toBe(2);
    cli('restart', killed!);

    const wanted = new Set(ids);
    const found = new Set<string>();
    await readTopic(testKafka(E2E_FLEET.brokers), 'intake.raw', (messages) => {
      for (const m of messages) {
        const id = m.headers['intake-id'];
        if (id && wanted.has(id)) found.add(id);
      }
      return found.size === wanted.size;
    });
    expect(ids.filter((id) => !found.has(id))).toEqual([]);
  });

  it('a subscription sees exactly the processed events of its visitor', async () => {
    const visitor = `dash-${Date.now()}`;
    const sub = subscribeSse(
      `${E2E_FLEET.baseUrl}/v1/subscribe/processed?key=${visitor}&api_key=${e2eApiKey()}`,
    );
    const res = await sub.opened;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const seen = (): string[] => sub.events.map((e) => (JSON.parse(e.data) as { id: string }).id);
    const mine = Array.from({ length: 5 }, (_, i) => `${visitor}-mine-${i}`);
    const others = Array.from({ length: 5 }, (_, i) => `${visitor}-other-${i}`);
    const body = [
      ...mine.map((id) => ({ id, type: 'page_view', key: visitor, data: { path: '/' } })),
      ...others.map((id) => ({ id, type: 'page_view', key: `${visitor}-x`, data: { path: '/' } })),
    ];
    const posted = await fetch(`${E2E_FLEET.baseUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${e2eApiKey()}` },
      body: JSON.stringify(body),
    });
    expect(posted.status).toBe(202);
    await waitFor(() => sub.events.length >= mine.length, {
      what: 'the visitor’s processed events',
    });
    await new Promise((r) => setTimeout(r, 1000)); // nothing else arrives
    sub.close();
    await sub.done;
    expect(seen().sort()).toEqual([...mine].sort());
  });
});
