/**
 * The edge answers 202 only after its record is readable from the raw topic: at the
 * moment each 202 arrives, the topic's high watermark is already past the record, and the
 * record at that position is the event.
 */
import type { Server } from 'node:http';
import type { Admin } from '../../lib/kafka/port';
import { createRegistry } from '../../lib/metrics';
import { createEdgeMetrics } from '../../services/edge/metrics';
import { KafkaSink } from '../../services/edge/sink';
import { batchingDefaults } from '../../lib/kafka/batching-producer';
import { createTopic, randomName, readTopic, testKafka } from '../support/kafka-helpers';
import { startTestApp } from '../support/edge-app';
import { silentLogger } from '../support/fakes';
import { TEST_BROKER } from '../support/test-env';

describe('edge with a real Kafka sink', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const topic = randomName('raw');
  let admin: Admin;
  let sink: KafkaSink;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, topic, 3);
    sink = new KafkaSink({
      producers: [kafka.producer()],
      admin: kafka.admin(),
      topic,
      logger: silentLogger(),
      options: batchingDefaults,
    });
    await sink.start();
    const started = await startTestApp({
      sink,
      metrics: createEdgeMetrics(createRegistry('edge', 'it'), {
        inFlightBytes: () => sink.inFlightBytes,
      }),
      instance: 'edge-it',
      maxBodyBytes: 1024 * 1024,
      maxEventsPerRequest: 1000,
      defaultSource: 'it',
    });
    server = started.server;
    base = `${started.base}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await sink.stop();
    await admin.disconnect();
  });

  it('answers 202 only once the record is readable from the raw topic', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `durable-${i}`;
      const res = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, type: 'check', key: `k${i % 4}` }),
      });
      expect(res.status).toBe(202);
      // At this moment the record must already be committed in the log.
      const offsets = await admin.fetchTopicOffsets(topic);
      const total = offsets.reduce((n, o) => n + Number(o.high), 0);
      expect(total).toBeGreaterThanOrEqual(i + 1);
      ids.push(id);
    }
    const messages = await readTopic(kafka, topic, (m) => m.length >= ids.length);
    expect(messages.map((m) => m.headers['intake-id']).sort()).toEqual([...ids].sort());
    for (const m of messages) {
      expect(JSON.parse(m.value)).toMatchObject({
        type: 'check',
        source: 'it',
        pattern: 'request-ack',
      });
    }
  });

  it('stores every event of concurrent batched requests exactly once', async () => {
    const before = (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
    const requests = Array.from({ length: 20 }, (_, r) =>
      fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          Array.from({ length: 25 }, (_, i) => ({ id: `b-${r}-${i}`, type: 'batch' })),
        ),
      }),
    );
    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    const after = (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
    expect(after - before).toBe(500);
  });
});
