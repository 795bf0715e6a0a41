/**
 * The topics every fleet creates (lib/kafka/topics.ts: `npm run up`, services/topic-init,
 * the tests' fleets) carry the replication settings docs/guarantees.md and
 * docs/configuration.md promise: the replication factor asked for, min.insync.replicas 2
 * from a factor of 2 up (1 below), compaction for the keyed state topics, replies kept an
 * hour.
 */
import { kafkaDefaults } from '../../../lib/config';
import { intakeTopics } from '../../../lib/kafka/topics';
import { sourceTopics } from '../../../lib/sources/topics';

const COMPACTED = [
  'intake.scores',
  'intake.progress',
  'intake.rejections',
  'intake.puller-positions',
];

describe('intakeTopics', () => {
  it('names every topic of the configuration', () => {
    expect(
      [...intakeTopics(kafkaDefaults, 6), ...sourceTopics(kafkaDefaults)]
        .map((t) => t.topic)
        .sort(),
    ).toEqual(Object.values(kafkaDefaults.topics).sort());
  });

  it.each([
    [1, '1'],
    [2, '2'],
    [3, '2'],
    [5, '2'],
  ])('replication factor %i: every topic has it, and min.insync.replicas %s', (rf, minIsr) => {
    const specs = intakeTopics(kafkaDefaults, 6, rf);
    for (const spec of specs) {
      const configs = Object.fromEntries((spec.configEntries ?? []).map((e) => [e.name, e.value]));
      expect({
        topic: spec.topic,
        rf: spec.replicationFactor,
        minIsr: configs['min.insync.replicas'],
      }).toEqual({ topic: spec.topic, rf, minIsr });
      expect(spec.numPartitions).toBe(6);
    }
  });

  it('compacts the keyed state topics, keeps replies an hour, and deletes nothing else early', () => {
    for (const spec of intakeTopics(kafkaDefaults, 6, 3)) {
      const configs = Object.fromEntries((spec.configEntries ?? []).map((e) => [e.name, e.value]));
      expect({ topic: spec.topic, cleanup: configs['cleanup.policy'] }).toEqual({
        topic: spec.topic,
        cleanup: COMPACTED.includes(spec.topic) ? 'compact' : undefined,
      });
      expect({ topic: spec.topic, retention: configs['retention.ms'] }).toEqual({
        topic: spec.topic,
        retention: spec.topic === 'intake.replies' ? '3600000' : undefined,
      });
    }
  });
});
