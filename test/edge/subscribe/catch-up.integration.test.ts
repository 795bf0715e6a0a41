/**
 * Resumes older than the edge's ring, against a real broker: the edge keeps 2 records in
 * memory, so these positions are caught up from Kafka. A transactional topic (commit
 * markers between records) resumes with every record after the position once, then the
 * live ones; a position below the partition's earliest offset (records deleted, as
 * retention does) answers 410; a WebSocket resumes the same way; with every catch-up
 * slot taken, 503 with Retry-After.
 */
import type { AddressInfo } from 'node:net';
import type { Admin, TransactionalProducer } from '../../../lib/kafka/port';
import { WebSocket } from 'ws';
import { Fanouts, WsSubscribeRoute } from '../../../services/edge/subscribe/subscribe-routes';
import { attachUpgrades } from '../../../services/edge/upgrades';
import { createTopic, randomName, testKafka, waitFor } from '../../support/kafka-helpers';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { MemorySink, silentLogger } from '../../support/fakes';
import { subscribeSse } from '../../support/sse';
import type { SseSubscription } from '../../support/sse';
import { TEST_BROKER } from '../../support/test-env';

describe('subscription catch-up from Kafka (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const topic = randomName('catch-up');
  let admin: Admin;
  let producer: TransactionalProducer;
  let app: TestApp;
  let fanouts: Fanouts;

  /** Writes `ns` in one transaction: their offsets, then a commit marker. */
  const commit = async (ns: number[]): Promise<void> => {
    const tx = await producer.begin();
    await tx.sendBatch({
      topicMessages: [
        {
          topic,
          messages: ns.map((n) => ({ key: 'k', value: JSON.stringify({ type: 't', n }) })),
        },
      ],
    });
    await tx.commit();
  };
  const ns = (sub: SseSubscription): number[] =>
    sub.events.map((e) => (JSON.parse(e.data) as { n: number }).n);
  const resume = (position: string): SseSubscription =>
    subscribeSse(`${app.base}/v1/subscribe/processed`, { 'last-event-id': position });

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, topic, 1);
    producer = kafka.transactionalProducer({
      transactionalId: randomName('catch-up-tx'),
      transactionTimeoutMs: 30_000,
    });
    await producer.connect();
    fanouts = new Fanouts(kafka, { processed: topic }, silentLogger(), {
      maxSubscribers: 10,
      maxBufferedBytes: 2 * 1024 * 1024,
      heartbeatMs: 60_000,
      ringSize: 2,
      maxCatchUps: 1,
    });
    app = await startTestApp({ sink: new MemorySink(), fanouts });
    attachUpgrades(
      app.server,
      { '/v1/subscribe/': new WsSubscribeRoute(fanouts) },
      { isDraining: () => false, defaultSource: 'test' },
    );
  });

  afterAll(async () => {
    await fanouts.stop();
    await app.close();
    await producer.disconnect();
    await admin.disconnect();
  });

  it('resumes from Kafka across commit markers, then joins the live records, each once', async () => {
    // Offsets: 0-2 records, 3 marker, 4-6 records, 7 marker.
    await commit([0, 1, 2]);
    await commit([3, 4, 5]);
    const fanout = fanouts.get('processed')!;
    await fanout.ready(); // the edge starts here: its ring begins at offset 8

    // After record 2 (offset 2), up to the ring: only the marker at 7 separates them, and
    // only the reader's progress past it lets the catch-up join.
    const fromMarker = resume('0:3');
    expect((await fromMarker.opened).status).toBe(200);
    await waitFor(() => fromMarker.events.length >= 3, { what: 'the records after 0:3' });
    await waitFor(() => fanouts.catchingUp === 0, { what: 'the catch-up joined' });

    await commit([6, 7]); // offsets 8, 9, marker 10
    await commit([8]); // offset 11, marker 12: the ring holds 9 and 11 now
    const fromStart = resume('0:0');
    expect((await fromStart.opened).status).toBe(200);
    await waitFor(() => fromStart.events.length >= 9, { what: 'every record' });
    await waitFor(() => fanouts.catchingUp === 0, { what: 'the catch-up joined' });

    await commit([9, 10]);
    await waitFor(() => fromStart.events.length >= 11 && fromMarker.events.length >= 8, {
      what: 'the live records',
    });
    await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
    fromMarker.close();
    fromStart.close();
    expect(ns(fromMarker)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ns(fromStart)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Each id is the position after its record: resuming from one continues after it.
    expect(fromStart.events[2]!.id).toBe('0:3');
  });

  it('answers 410 only for a position below the earliest offset Kafka holds', async () => {
    await admin.fetchTopicMetadata([topic]); // the admin finds the leader from it
    await admin.deleteTopicRecords(topic, [{ partition: 0, offset: '4' }]);
    const gone = await fetch(`${app.base}/v1/subscribe/processed`, {
      headers: { 'last-event-id': '0:3' },
    });
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { type: string }).type).toMatch(/position-gone$/);

    const held = resume('0:4');
    expect((await held.opened).status).toBe(200);
    await waitFor(() => held.events.length >= 8, { what: 'the records still held' });
    await waitFor(() => fanouts.catchingUp === 0, { what: 'the catch-up joined' });
    held.close();
    expect(ns(held)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('resumes a WebSocket subscription from Kafka the same way', async () => {
    const port = (app.server.address() as AddressInfo).port;
    const got: number[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/subscribe/processed?lastEventId=0:4`);
    ws.on('message', (d: Buffer) =>
      got.push((JSON.parse(d.toString()) as { value: { n: number } }).value.n),
    );
    await waitFor(() => got.length >= 8, { what: 'the WebSocket messages' });
    await waitFor(() => fanouts.catchingUp === 0, { what: 'the catch-up joined' });
    ws.close();
    expect(got).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('answers 503 with Retry-After when the edge runs as many catch-ups as it may', async () => {
    expect(fanouts.takeCatchUp()).toBe(true); // the only slot, as a running catch-up holds it
    try {
      const busy = await fetch(`${app.base}/v1/subscribe/processed`, {
        headers: { 'last-event-id': '0:4' },
      });
      expect(busy.status).toBe(503);
      expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
      // A position the ring still reaches needs no slot.
      const recent = subscribeSse(`${app.base}/v1/subscribe/processed`);
      expect((await recent.opened).status).toBe(200);
      recent.close();
    } finally {
      fanouts.releaseCatchUp();
    }
    const after = resume('0:4');
    expect((await after.opened).status).toBe(200);
    after.close();
  });
});
