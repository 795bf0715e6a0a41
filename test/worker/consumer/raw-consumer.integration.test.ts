/**
 * The thin worker against a real broker: every raw record reaches the processed topic or
 * the DLQ, and the input offset is committed only after the downstream acknowledgement.
 */
import type { Admin, Producer } from '../../../lib/kafka/port';
import { toKafkaMessage, wrapEvent } from '../../../lib/envelope';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { createRegistry } from '../../../lib/metrics';
import { RawConsumer } from '../../../services/worker/consumer/raw-consumer';
import { createWorkerMetrics } from '../../../services/worker/metrics';
import { SbmlDelivery } from '../../../services/worker/delivery/sbml/sbml-delivery';
import { DeliveryProgress } from '../../../services/worker/outbound/progress';
import { Outputs } from '../../../services/worker/outbound/outputs';
import { OutboundSender } from '../../../services/worker/delivery/sbml/sender';
import { LocalProcessing } from '../../../services/worker/processing/local-processing';
import { Pipeline } from '../../../services/worker/pipeline/pipeline';
import { passThroughStep } from '../../../services/worker/pipeline/steps/pass-through-step';
import {
  createTopic,
  sendRecords,
  randomName,
  readTopic,
  testKafka,
  waitFor,
} from '../../support/kafka-helpers';
import { silentLogger } from '../../support/fakes';
import { Gate } from '../../support/gate';
import { TEST_BROKER } from '../../support/test-env';

describe('RawConsumer (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const topics = {
    raw: randomName('raw'),
    processed: randomName('processed'),
    dlq: randomName('dlq'),
    replies: randomName('replies'),
  };
  const groupId = randomName('workers');
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    for (const t of Object.values(topics)) await createTopic(admin, t, 3);
    producer = kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  async function committed(): Promise<number> {
    const offsets = await admin.fetchOffsets(groupId, topics.raw);
    return offsets.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  }

  it('with SBML off, commits input offsets only after the downstream acknowledgement, and delivers everything', async () => {
    const good = Array.from({ length: 30 }, (_, i) => {
      const r = wrapEvent(
        { id: `w-${i}`, type: 't', key: `k${i % 5}` },
        {
          source: 's',
          pattern: 'request-ack',
          receivedAt: new Date(),
          meta: {},
        },
      );
      if (!r.ok) throw new Error(r.reason);
      return toKafkaMessage(r.envelope);
    });
    const garbage = [
      { key: 'g1', value: 'not an envelope' },
      { key: 'g2', value: '{"id":1}' },
    ];
    await sendRecords(producer, topics.raw, [...good, ...garbage]);

    const partitions = new TopicPartitions();
    await partitions.refresh(admin, [topics.processed, topics.dlq, topics.replies]);
    const outputs = new Outputs(topics, partitions);
    const gate = new Gate(producer);
    const sender = new OutboundSender({ log: null, producer: gate, logger: silentLogger() });
    const consumer = new RawConsumer({
      consumer: kafka.consumer({ groupId }),
      delivery: new SbmlDelivery({
        sender,
        log: null,
        progress: new DeliveryProgress(),
        logger: silentLogger(),
      }),
      processing: new LocalProcessing({
        pipeline: new Pipeline([passThroughStep('w-it')]),
        outputs,
      }),
      rawTopic: topics.raw,
      metrics: createWorkerMetrics(createRegistry('worker', 'it')),
      logger: silentLogger(),
      partitionsConsumedConcurrently: 3,
      maxRecordsPerChunk: 500,
    });
    await consumer.start();
    try {
      await waitFor(() => gate.requests > 0, { what: 'the worker to send downstream' });
      // Processed but not yet acknowledged downstream: nothing may be committed.
      await new Promise((r) => setTimeout(r, 500));
      expect(await committed()).toBe(0);
      gate.open = true;
      await waitFor(async () => (await committed()) === good.length + garbage.length, {
        what: 'all offsets committed',
      });
    } finally {
      await consumer.stop();
    }
    const processed = await readTopic(kafka, topics.processed, (m) => m.length >= good.length);
    expect(processed.map((m) => m.headers['intake-id']).sort()).toEqual(
      good.map((g) => g.headers!['intake-id']).sort(),
    );
    const dead = await readTopic(kafka, topics.dlq, (m) => m.length >= garbage.length);
    expect(dead.map((m) => m.key).sort()).toEqual(['g1', 'g2']);
    expect(dead.every((m) => m.headers['intake-dlq-reason'])).toBe(true);
  });
});
