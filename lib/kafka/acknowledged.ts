/**
 * Checks that Kafka's answer (each adapter's, as the port's acks) to a produce request covers every partition the request
 * wrote to; an answer that does not is a failed request, never an acknowledgement.
 *
 * Why: kafkajs (2.2.4, `producer/sendMessages.js`) keeps each broker's answer across its
 * internal retries and, on a retry, skips every broker that already answered. When a
 * partition's leader dies and the partition moves to a broker that had answered for its
 * own partitions, the retry sends nothing for the moved partition, and `sendBatch` still
 * resolves with the earlier answers: the moved partition's records were never written.
 * The three-broker fault scenario (leader SIGKILL) found acknowledged events lost that way
 * (upstream: tulios/kafkajs#1303, #1798). Intake chooses every record's partition itself,
 * so each one can be checked here. Records without an explicit partition are not checked.
 */
import type { Ack, TopicRecords } from './port';
import { IntakeError } from '../errors';

export function assertAcknowledged(
  topicMessages: readonly TopicRecords[],
  acks: readonly Ack[],
): void {
  const answered = new Set(acks.map((a) => `${a.topic}/${a.partition}`));
  const missing = new Set<string>();
  for (const { topic, messages } of topicMessages) {
    for (const m of messages) {
      if (m.partition !== undefined && !answered.has(`${topic}/${m.partition}`))
        missing.add(`${topic}/${m.partition}`);
    }
  }
  if (missing.size > 0) {
    throw new IntakeError(
      'KAFKA_UNAVAILABLE',
      `Kafka's answer does not cover ${[...missing].join(', ')} (nothing written there): not acknowledged`,
    );
  }
}
