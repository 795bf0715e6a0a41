/**
 * Restores the scorer's per-partition state after each rebalance: for every newly
 * assigned raw partition, it waits for the hand-over (the previous owner's score records
 * delivered, `handover.ts`), then reads the same partition of the compacted scores topic
 * up to its end and loads it into the scorer; revoked partitions are forgotten. The consumer
 * awaits `ready(p)` before processing partition p, so no event is scored on a state that
 * was not restored yet.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../../lib/logger';
import type { ScoreStep } from '../pipeline/steps/score-step';
import type { Handover } from './handover';
import { readPartitions } from './read-partitions';

export class StateRestorer {
  private readonly restores = new Map<number, Promise<void>>();
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      kafka: Kafka;
      topic: string;
      scorer: ScoreStep | null;
      /** Absent: restore at once, without waiting for a previous owner (tests). */
      handover?: Pick<Handover, 'settled'>;
      logger: Logger;
    },
  ) {
    this.log = deps.logger.child({ module: 'state-restorer' });
  }

  assigned(partitions: number[]): void {
    const { scorer } = this.deps;
    if (!scorer) return;
    for (const p of [...this.restores.keys()]) {
      if (!partitions.includes(p)) {
        this.restores.delete(p);
        scorer.forget(p);
      }
    }
    const fresh = partitions.filter((p) => !this.restores.has(p));
    if (fresh.length === 0) return;
    const started = Date.now();
    const settled = this.deps.handover?.settled(fresh) ?? Promise.resolve();
    const restore = settled
      .then(() => readPartitions(this.deps.kafka, this.deps.topic, fresh))
      .then((records) => {
        for (const p of fresh)
          scorer.restore(
            p,
            records.filter((r) => r.partition === p),
          );
        this.log.info(
          { partitions: fresh, records: records.length, ms: Date.now() - started },
          'state_restored',
        );
      });
    for (const p of fresh) {
      this.restores.set(
        p,
        restore.catch((err: unknown) => {
          // Without its state the partition must not be scored: retry on the next access.
          this.restores.delete(p);
          this.log.error({ err, partition: p }, 'state_restore_failed');
          throw err;
        }),
      );
    }
  }

  /** Resolves once partition p's state is restored (at once when there is no scorer). */
  async ready(partition: number): Promise<void> {
    if (!this.deps.scorer) return;
    const pending = this.restores.get(partition);
    if (pending) return pending;
    this.assigned([...this.restores.keys(), partition]);
    return this.restores.get(partition);
  }
}
