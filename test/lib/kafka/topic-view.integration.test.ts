/**
 * TopicView against a real broker: it catches up with a compacted topic's end, keeps the
 * latest value per key, deletes on a null parse, and skips a record its parser refuses
 * instead of stopping (one bad record must not keep a view from ever being ready).
 */
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

const kafka = testKafka(TEST_BROKER.brokers);

describe('TopicView (real broker)', () => {
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
});
