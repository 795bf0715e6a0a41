/**
 * The topics Intake needs, created idempotently at start by the fleet (and by tests).
 */
import type { Admin, TopicSpec } from './port';
import type { KafkaConfig } from '../config';

export type { TopicSpec };

export function intakeTopics(
  config: KafkaConfig,
  partitions: number,
  replicationFactor = 1,
): TopicSpec[] {
  const minIsr = String(Math.min(2, replicationFactor));
  const base = (topic: string): TopicSpec => ({
    topic,
    numPartitions: partitions,
    replicationFactor,
    configEntries: [{ name: 'min.insync.replicas', value: minIsr }],
  });
  const compacted = (topic: string): TopicSpec => ({
    ...base(topic),
    configEntries: [
      ...(base(topic).configEntries ?? []),
      { name: 'cleanup.policy', value: 'compact' },
    ],
  });
  // NOTE: scores has as many partitions as raw, so raw partition p's visitors are in scores
  // partition p (same key hash): a worker restores exactly the partitions it is assigned.
  return [
    base(config.topics.raw),
    base(config.topics.processed),
    base(config.topics.dlq),
    compacted(config.topics.scores),
    compacted(config.topics.progress),
    compacted(config.topics.rejections),
    compacted(config.topics.pullerPositions),
    // Replies matter only while an edge waits for them: keep them an hour.
    {
      ...base(config.topics.replies),
      configEntries: [
        ...(base(config.topics.replies).configEntries ?? []),
        { name: 'retention.ms', value: '3600000' },
      ],
    },
  ];
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) await admin.createTopics(missing);
  return missing.map((s) => s.topic);
}
