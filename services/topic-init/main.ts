/**
 * The topic-init job of the containers (docker-compose's `topic-init` service, image
 * intake/topic-init): waits for the broker, creates Intake's topics with the same
 * specification the local fleet uses (lib/kafka/topics.ts), prints them and exits 0.
 * Idempotent: existing topics are left as they are.
 *
 * Environment: INTAKE_KAFKA_BROKERS and INTAKE_TOPIC_* as every service reads them,
 * INTAKE_TOPIC_PARTITIONS (default 6), INTAKE_TOPIC_REPLICATION (default 1),
 * INTAKE_TOPIC_INIT_TIMEOUT_S (how long to wait for the broker, default 120).
 */
import { EnvReader, readKafkaConfig } from '../../lib/config';
import { sleep } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import { createKafkaClient } from '../../lib/kafka/client';
import { ensureTopics, intakeTopics } from '../../lib/kafka/topics';
import { sourceTopics } from '../../lib/sources/topics';

async function main(): Promise<void> {
  const r = new EnvReader(process.env);
  const config = readKafkaConfig(r, 'intake-topic-init');
  const partitions = r.int('INTAKE_TOPIC_PARTITIONS', 6, { min: 1, max: 1000 });
  const replication = r.int('INTAKE_TOPIC_REPLICATION', 1, { min: 1, max: 10 });
  const timeoutS = r.int('INTAKE_TOPIC_INIT_TIMEOUT_S', 120, { min: 1 });
  r.done();
  const logger = createLogger('topic-init');
  const kafka = createKafkaClient(config, logger, { retries: 0, silent: true });
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const created = await ensureTopics(admin, [
        ...intakeTopics(config, partitions, replication),
        ...sourceTopics(config, replication),
      ]);
      const topics = (await admin.listTopics()).filter((t) => t.startsWith('intake.')).sort();
      logger.info({ created, topics, partitions, replication }, 'topics_ready');
      await admin.disconnect();
      return;
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      logger.info({ brokers: config.brokers, error: String(err) }, 'waiting_for_kafka');
      await sleep(2000);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`topic-init failed: ${String(err)}\n`);
  process.exit(1);
});
