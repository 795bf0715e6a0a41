/**
 * Example downstream consumer: reads intake.processed and acts once per event id, using
 * Intake's dedup helper. Run it against the local fleet:
 *
 *   npx tsc -p tsconfig.json && node dist/examples/dedup-consumer.js
 *
 * Environment: INTAKE_KAFKA_BROKERS (default 127.0.0.1:9092), INTAKE_TOPIC_PROCESSED,
 * INTAKE_KAFKA_CLIENT (kafkajs or platformatic). It reads through Intake's Kafka port
 * (lib/kafka/port.ts), whose consumers read committed records only: outputs of a worker's
 * aborted transaction (HML) never appear.
 */
import { Deduplicator, eventId } from '../lib/dedup';
import { createKafkaClient } from '../lib/kafka/client';
import { KAFKA_CLIENTS } from '../lib/kafka/port';
import { createLogger } from '../lib/logger';

async function main(): Promise<void> {
  const brokers = (process.env.INTAKE_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const topic = process.env.INTAKE_TOPIC_PROCESSED ?? 'intake.processed';
  const client = KAFKA_CLIENTS.find((c) => c === process.env.INTAKE_KAFKA_CLIENT) ?? 'kafkajs';
  const kafka = createKafkaClient(
    { client, clientId: 'dedup-example', brokers },
    createLogger('dedup-example', 'warn'),
  );
  const consumer = kafka.consumer({ groupId: 'dedup-example' });
  const dedup = new Deduplicator(1_000_000);
  await consumer.connect();
  await consumer.subscribe(topic, { fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const id = eventId(message.headers, message.value);
        if (id === null || !dedup.firstTime(id)) continue; // a duplicate from a resend: skip it
        // Act once per event here (write to a database, call an API, ...).
        process.stdout.write(`${batch.partition}/${message.offset} ${id}\n`);
      }
      await Promise.resolve();
    },
  });
  const stop = (): void => {
    process.stderr.write(`duplicates skipped: ${dedup.duplicateCount}\n`);
    void consumer.disconnect().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
