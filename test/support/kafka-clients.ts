/**
 * Kafka clients a test file shares, connected in its \`beforeAll\` and closed in its
 * \`afterAll\` (jest's hooks: test files only, never the build's fault tools).
 */
import type { Admin, KafkaClient, Producer } from '../../lib/kafka/port';

/** An admin client and a producer of `kafka`, connected before a file's tests and closed after. */
export function adminAndProducer(kafka: KafkaClient): { admin: Admin; producer: Producer } {
  const clients = { admin: kafka.admin(), producer: kafka.producer() };
  beforeAll(async () => {
    await clients.admin.connect();
    await clients.producer.connect();
  });
  afterAll(async () => {
    await clients.producer.disconnect();
    await clients.admin.disconnect();
  });
  return clients;
}
