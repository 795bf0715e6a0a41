/**
 * One-way UDP through nginx: datagrams sent to nginx on the HTTP port's number (UDP) reach
 * intake.raw, one event or NDJSON per datagram, spread over both edges (each edge's
 * one-way counter moves). Loss is allowed by design for one-way events; on the loopback
 * at this volume none is expected, so the test asks for every event.
 */
import { metricValue } from '../../services/cli/fleet/probe';
import { readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import { E2E_FLEET } from '../support/test-env';
import { sendDatagram } from '../support/udp';

const EDGE_PORTS = [E2E_FLEET.httpPort + 1, E2E_FLEET.httpPort + 2];
const SOCKETS = 10;
const PER_SOCKET = 4; // datagrams: 2 single events, 2 NDJSON pairs

async function oneWaySent(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return metricValue(text, 'intake_edge_one_way_sent_total');
}

describe('one-way UDP through nginx', () => {
  it('takes single events and NDJSON datagrams on the HTTP port number and spreads them over the edges', async () => {
    const run = Date.now().toString(36);
    const before = await Promise.all(EDGE_PORTS.map(oneWaySent));
    const ids: string[] = [];
    const event = (n: string): string => {
      const id = `udp-${run}-${n}`;
      ids.push(id);
      return JSON.stringify({ id, type: 'telemetry', key: `udp-device-${n}`, data: { n } });
    };
    for (let s = 0; s < SOCKETS; s++) {
      for (let d = 0; d < PER_SOCKET; d++) {
        const payload =
          d % 2 === 0 ? event(`${s}-${d}`) : `${event(`${s}-${d}a`)}\n${event(`${s}-${d}b`)}\n`;
        await sendDatagram(E2E_FLEET.httpPort, payload);
      }
    }
    const wanted = new Set(ids);
    const found = new Set<string>();
    await readTopic(
      testKafka(E2E_FLEET.brokers),
      'intake.raw',
      (messages) => {
        for (const m of messages) {
          const id = m.headers['intake-id'] ?? '';
          if (wanted.has(id)) found.add(id);
        }
        return found.size >= wanted.size;
      },
      60_000,
    );
    expect(ids.filter((id) => !found.has(id))).toEqual([]);
    const sent = await waitFor(
      async () => {
        const after = await Promise.all(EDGE_PORTS.map(oneWaySent));
        const moved = after.map((n, i) => n - before[i]!);
        return moved.reduce((a, b) => a + b, 0) >= ids.length ? moved : undefined;
      },
      { timeoutMs: 30_000, what: 'the edges to count the UDP events' },
    );
    console.log(
      `udp: ${ids.length} events in ${SOCKETS * PER_SOCKET} datagrams, per edge ${JSON.stringify(sent)}`,
    );
    for (const n of sent) expect(n).toBeGreaterThan(0);
  });
});
