/**
 * TopicView against a real broker: it catches up with a compacted topic's end, keeps the
 * latest value per key, deletes on a null parse, and skips a record its parser refuses
 * instead of stopping (one bad record must not keep a view from ever being ready), and
 * `current()` waits until what was committed before the call, in transactions too, is in.
 */
import { KAFKA_CLIENTS } from '../../../lib/kafka/port';
import type { TransactionalProducer } from '../../../lib/kafka/port';
import { TopicView, memoryStore } from '../../../lib/kafka/topic-view';
import { silentLogger } from '../../support/fakes';
import {
  createTopic,
  randomName,
  testKafka,
  waitFor,
  sendRecords,
} from '../../support/kafka-helpers';
import { fileClients } from '../../support/file-clients';
import { TEST_BROKER } from '../../support/test-env';

describe.each(KAFKA_CLIENTS)('TopicView on %s (real broker)', (client) => {
  const kafka = testKafka(TEST_BROKER.brokers, client);
  const clients = fileClients(kafka);

  it('keeps the latest value per key and skips records its parser refuses', async () => {
    const { admin, producer } = clients;
    const topic = randomName('view');
    await createTopic(admin, topic, 2);
    await sendRecords(producer, topic, [
      { key: 'a', value: '{"n":1}' },
      { key: 'b', value: '{"n":1}' },
      { key: 'a', value: 'not json' },
      { key: 'b', value: 'null' },
      { key: 'c', value: '{"n":3}' },
    ]);
    const view = new TopicView<{ n: number }>({
      kafka,
      topic,
      store: memoryStore(),
      logger: silentLogger(),
      parse: (value) => JSON.parse(value.toString()) as { n: number } | null,
    });
    await view.start();
    try {
      await waitFor(() => view.isCaughtUp, { what: 'the view caught up with the topic' });
      expect(view.get('a')).toEqual({ n: 1 }); // the unreadable record is skipped
      expect(view.get('b')).toBeUndefined(); // null deletes
      expect(view.get('c')).toEqual({ n: 3 });

      await sendRecords(producer, topic, [{ key: 'a', value: '{"n":2}' }]);
      await waitFor(() => view.get('a')?.n === 2, { what: 'the view follows the topic' });
      expect(view.health().ok).toBe(true);
    } finally {
      await view.stop();
    }
  });

  it('current() resolves once what was committed before the call is in the view, transactional records included', async () => {
    const { admin, producer } = clients;
    const topic = randomName('view-current');
    await createTopic(admin, topic, 3);
    const view = new TopicView<{ n: number }>({
      kafka,
      topic,
      store: memoryStore(),
      logger: silentLogger(),
      parse: (value) => JSON.parse(value.toString()) as { n: number },
    });
    await view.start();
    const transactionalId = randomName('view-tx');
    // Connecting a producer of the id completes the earlier one's transaction (its commit
    // markers written): what HML's claim does before it reads the view.
    const fence = async (): Promise<TransactionalProducer> => {
      const tp = kafka.transactionalProducer({ transactionalId, transactionTimeoutMs: 10_000 });
      await tp.connect();
      return tp;
    };
    let tp = await fence();
    try {
      await view.ready();
      for (let n = 1; n <= 3; n++) {
        const tx = await tp.begin();
        await tx.sendBatch({
          topicMessages: [{ topic, messages: [{ key: 'k', value: `{"n":${n}}` }] }],
        });
        await tx.commit();
        await tp.disconnect();
        tp = await fence();
        await sendRecords(producer, topic, [{ key: `plain-${n}`, value: `{"n":${n}}` }]);
        // No polling: the records committed before the call are there once it resolves.
        await view.current(10_000);
        expect(view.get('k')).toEqual({ n });
        expect(view.get(`plain-${n}`)).toEqual({ n });
      }
    } finally {
      await tp.disconnect();
      await view.stop();
    }
  });
});
