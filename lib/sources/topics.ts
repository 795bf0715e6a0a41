/**
 * The compacted topics of sources (lib/records/source.ts), forget requests
 * (lib/records/forget.ts) and usage reports (lib/records/usage.ts), created beside
 * Intake's other topics by topic-init and the local fleet. One partition each: they are
 * small, and every edge reads all of them.
 */
import type { KafkaConfig } from '../config';
import type { Admin, TopicSpec } from '../kafka/port';

export function sourceTopics(config: KafkaConfig, replicationFactor = 1): TopicSpec[] {
  const minIsr = String(Math.min(2, replicationFactor));
  const { sources, forgets, usage } = config.topics;
  return [sources, forgets, usage].map((topic) => ({
    topic,
    numPartitions: 1,
    replicationFactor,
    configEntries: [
      { name: 'min.insync.replicas', value: minIsr },
      { name: 'cleanup.policy', value: 'compact' },
    ],
  }));
}

/** Which of the source topics the broker lacks (a fleet whose topics predate them). */
export async function missingSourceTopics(
  admin: Pick<Admin, 'connect' | 'disconnect' | 'listTopics'>,
  config: KafkaConfig,
): Promise<string[]> {
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return sourceTopics(config)
      .map((t) => t.topic)
      .filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect();
  }
}
