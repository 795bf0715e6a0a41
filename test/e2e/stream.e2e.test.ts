/**
 * Streams through nginx on the real fleet: 50,000 events over one WebSocket with the
 * bundled client, the edge holding the connection SIGKILLed mid-stream; the client
 * reconnects (nginx sends it to the other edge), resends after its last ack, and every
 * acknowledged event is in intake.raw. The same over a chunked NDJSON upload
 * (`POST /v1/stream`), resumed by hand from its last cumulative ack, with each id's count
 * in intake.raw checked. Then a dashboard-style SSE subscription through nginx sees
 * exactly the processed events of its visitor.
 */
import { StreamClient } from '../../lib/client/stream-client';
import { readState } from '../../services/cli/fleet/state';
import { openChunkedStream } from '../support/chunked-stream';
import { cli } from '../support/fleet-setup';
import { readToEnd, readTopic, testKafka, waitFor } from '../support/kafka-helpers';
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

  it('resumes a chunked NDJSON upload from its last ack after the edge serving it is killed: nothing lost or doubled', async () => {
    // Events 1..SENT go up the first upload; its edge is SIGKILLed once ACKED_BEFORE_KILL
    // are acked; a second upload through nginx (now to the other edge) resends from the
    // last ack A + 1 to TOTAL. What must hold in intake.raw, per event id:
    // - every event 1..TOTAL is there (nothing lost: the second upload ends `done` at TOTAL);
    // - events 1..A (acked before the kill, never resent) and SENT+1..TOTAL (sent once)
    //   are there exactly once;
    // - events A+1..SENT (sent, not acked, then resent) at most twice: once if the killed
    //   edge had not written them, twice if it had and died before acking them. Each edge's
    //   producer is idempotent, so nothing is written twice by one edge.
    const TOTAL_CHUNKED = 20_000;
    const SENT = 10_000;
    const ACKED_BEFORE_KILL = 3_000;
    const BATCH = 200;
    const run = Date.now().toString(36);
    const event = (seq: number): Record<string, unknown> => ({
      id: `chunked-e2e-${run}-${seq}`,
      type: 'stream_tick',
      key: `v-${seq % 101}`,
      data: { seq },
    });
    const range = (from: number, to: number): Record<string, unknown>[] =>
      Array.from({ length: to - from + 1 }, (_, i) => event(from + i));
    const url = `${E2E_FLEET.baseUrl}/v1/stream`;

    const first = openChunkedStream(url, e2eApiKey());
    const opened = await first.opened;
    expect(opened.status).toBe(200);
    const killed = opened.instance;
    expect(killed).toMatch(/^edge-/);
    for (let seq = 1; seq <= SENT; seq += BATCH)
      await first.write(seq, range(seq, seq + BATCH - 1));
    await waitFor(() => first.lastAck >= ACKED_BEFORE_KILL, { what: 'acks before the kill' });
    const edge = readState(E2E_FLEET.stateDir)!.processes.find((p) => p.name === killed)!;
    process.kill(edge.pid, 'SIGKILL');
    const broken = await first.finished;
    expect(broken.done).toBeNull(); // the answer broke off: the edge died mid-stream
    const lastAck = first.lastAck;

    const second = openChunkedStream(url, e2eApiKey());
    const resumed = await second.opened;
    expect(resumed.status).toBe(200);
    expect(resumed.instance).not.toBe(killed);
    for (let seq = lastAck + 1; seq <= TOTAL_CHUNKED; seq += BATCH)
      await second.write(seq, range(seq, Math.min(TOTAL_CHUNKED, seq + BATCH - 1)));
    second.end();
    const { done, errors } = await second.finished;
    cli('restart', killed);
    console.log(
      `chunked NDJSON stream: ${TOTAL_CHUNKED} events, ${SENT} on ${killed} (last ack ${lastAck}), the rest from ${lastAck + 1} on ${resumed.instance}`,
    );
    expect(errors).toEqual([]);
    expect(done).toMatchObject({ done: true, ack: TOTAL_CHUNKED, rejected: 0 });

    const counts = new Map<string, number>();
    for (const m of await readToEnd(testKafka(E2E_FLEET.brokers), ['intake.raw'])) {
      const id = m.headers['intake-id'];
      if (id?.startsWith(`chunked-e2e-${run}-`)) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const count = (seq: number): number => counts.get(`chunked-e2e-${run}-${seq}`) ?? 0;
    const seqs = Array.from({ length: TOTAL_CHUNKED }, (_, i) => i + 1);
    expect(seqs.filter((seq) => count(seq) === 0)).toEqual([]);
    expect(seqs.filter((seq) => (seq <= lastAck || seq > SENT) && count(seq) !== 1)).toEqual([]);
    expect(seqs.filter((seq) => count(seq) > 2)).toEqual([]);
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
