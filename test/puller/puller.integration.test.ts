/**
 * The puller against a local SSE upstream that emits numbered events and drops the
 * connection every 700 events, with the real puller process and a real broker: it is
 * SIGKILLed twice mid-stream and restarted. Every event 1..N reaches the raw topic, and
 * (events and position commit in one transaction) a read-committed reader sees none twice.
 */
import type { AddressInfo } from 'node:net';
import type { Admin } from '../../lib/kafka/port';
import { createNumberedSse } from '../../services/demo-upstream/numbered-sse';
import { createTopic, randomName, readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import type { ServiceProcess } from '../support/worker-process';
import { pullerProcess } from '../support/worker-process';
import { TEST_BROKER } from '../support/test-env';

const TOTAL = 6000;

describe('puller (real process, real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const raw = randomName('pull-raw');
  const positions = randomName('pull-pos');
  const upstream = createNumberedSse({ ratePerSecond: 1500, total: TOTAL, dropEvery: 700 });
  let admin: Admin;
  let puller: ServiceProcess;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, raw, 3);
    await createTopic(admin, positions, 1, [{ name: 'cleanup.policy', value: 'compact' }]);
    await new Promise<void>((r) => upstream.server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}/events`;
    const name = randomName('up');
    puller = pullerProcess('puller-it', { name, url }, { raw, positions });
  });

  afterAll(async () => {
    await puller.kill('SIGTERM');
    upstream.server.closeAllConnections();
    await new Promise((r) => upstream.server.close(r));
    await admin.disconnect();
  });

  it('loses nothing and duplicates nothing across SIGKILLs and upstream disconnects', async () => {
    for (const killAt of [1500, 3500]) {
      await puller.start();
      await puller.ready();
      await waitFor(() => upstream.highest >= killAt, { what: `upstream past ${killAt}` });
      await puller.kill('SIGKILL');
    }
    await puller.start();
    await puller.ready();
    const ids = new Map<string, number>();
    await readTopic(kafka, raw, (messages) => {
      ids.clear();
      for (const m of messages) {
        const id = m.headers['intake-id']!;
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
      return ids.size >= TOTAL;
    });
    const missing = Array.from({ length: TOTAL }, (_, i) => `demo-${i + 1}`).filter(
      (id) => !ids.has(id),
    );
    const duplicates = [...ids.values()].reduce((n, c) => n + c - 1, 0);
    const reconnects = await puller.metric('intake_puller_reconnects_total');
    console.log(
      `puller: ${TOTAL} upstream events, ${upstream.connections} connections (2 SIGKILLs, a drop every 700), ${missing.length} missing, ${duplicates} duplicates`,
    );
    expect(missing).toEqual([]);
    expect(duplicates).toBe(0);
    expect(upstream.connections).toBeGreaterThanOrEqual(TOTAL / 700);
    expect(reconnects).toBeGreaterThan(0);
  });

  it('reports its upstream on /readyz and its counters on /metrics', async () => {
    const ready = (await (await fetch(`http://127.0.0.1:${puller.port}/readyz`)).json()) as {
      details: Record<string, { position: string }>;
    };
    expect(Object.values(ready.details)[0]?.position).toBe(String(TOTAL));
    expect(await puller.metric('intake_puller_events_total')).toBeGreaterThan(0);
  });
});
