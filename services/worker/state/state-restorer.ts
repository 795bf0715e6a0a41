/**
 * Restores the worker's per-partition state after each rebalance, for every newly
 * assigned raw partition, once its hand-over settled (SBML: the previous owner's score
 * records delivered, `handover.ts`; HML: the previous owner fenced), which also gives the
 * partition's committed offset:
 * - the scorer's state: the same partition of the compacted scores topic, read up to its end;
 * - the recently processed ids (deduplication, `recent-ids.ts`): the raw partition's records
 *   below the committed offset, at most the window's size of them.
 * Revoked partitions are forgotten. The consumer awaits `ready(p)` before processing
 * partition p, so no event is scored or deduplicated on a state that was not restored yet.
 */
import type { KafkaClient } from '../../../lib/kafka/port';
import type { Logger } from '../../../lib/logger';
import { idOf } from '../consumer/recent-ids';
import type { IdsState, ScoreState } from '../processing/processing';
import { readPartitions, readRanges } from './read-partitions';

export interface StateRestorerDeps {
  kafka: KafkaClient;
  /** The scores topic. */
  topic: string;
  scorer: ScoreState | null;
  /** The raw topic and the window of recent ids rebuilt from it (absent: no deduplication). */
  recent?: { rawTopic: string; ids: IdsState; maxPerPartition: number };
  /**
   * Resolves once the partitions may be restored, with their committed offsets (absent:
   * restore at once, no committed offsets known: tests).
   */
  handover?: {
    settled(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>>;
    /** The committed offsets alone, without waiting (partitions this worker kept). */
    committed(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>>;
  };
  /** The next offset this worker last committed for a partition, if it did. */
  committedHere?: (partition: number) => bigint | undefined;
  logger: Logger;
}

export class StateRestorer {
  private readonly restores = new Map<number, Promise<void>>();
  /** The committed offset of each partition when its state was last restored. */
  private readonly restoredAt = new Map<number, bigint | undefined>();
  private readonly log: Logger;

  constructor(private readonly deps: StateRestorerDeps) {
    this.log = deps.logger.child({ module: 'state-restorer' });
  }

  private get hasState(): boolean {
    return this.deps.scorer !== null || (this.deps.recent?.ids.enabled ?? false);
  }

  /**
   * A new group generation. Besides the new partitions, a partition this worker kept is
   * restored again when its committed offset is not where this worker left it: another
   * worker processed it meanwhile (this one was out of the group without noticing, e.g.
   * while the coordinator moved), so its state here is stale.
   */
  assigned(partitions: number[]): void {
    if (!this.hasState) return;
    for (const p of [...this.restores.keys()]) {
      if (!partitions.includes(p)) {
        this.restores.delete(p);
        this.restoredAt.delete(p);
        this.deps.scorer?.forget(p);
        this.deps.recent?.ids.forget(p);
      }
    }
    this.restore(partitions, true);
  }

  private restore(partitions: number[], recheckKept: boolean): void {
    const added = partitions.filter((p) => !this.restores.has(p));
    const held = recheckKept ? partitions.filter((p) => this.restores.has(p)) : [];
    const wanted = [...added, ...held];
    if (wanted.length === 0) return;
    // A kept partition's earlier restore may still be running (a new generation came before
    // it ended): this one waits for it, so `ready(p)` never resolves before the state is in.
    const earlier = held.map((p) => this.restores.get(p)!.catch(() => undefined));
    const started = Date.now();
    const none = new Map<number, bigint>();
    const restore = (async () => {
      const { handover } = this.deps;
      const committed = new Map(
        added.length > 0 && handover ? await handover.settled(added) : none,
      );
      await Promise.all(earlier);
      // A kept partition whose earlier restore failed is restored as a new one.
      const again = held.filter((p) => !this.restoredAt.has(p));
      const kept = held.filter((p) => this.restoredAt.has(p));
      const keptAt = kept.length > 0 && handover ? await handover.committed(kept) : none;
      // Moved: another worker processed it meanwhile; wait for its hand-over like a new one.
      const moved = kept.filter((p) => this.movedSince(p, keptAt.get(p)));
      const settle = [...again, ...moved];
      if (settle.length > 0 && handover)
        for (const [p, offset] of await handover.settled(settle)) committed.set(p, offset);
      const todo = [...added, ...settle];
      if (todo.length > 0) {
        const [scores, ids] = await Promise.all([
          this.restoreScores(todo),
          this.restoreIds(todo, committed),
        ]);
        this.log.info(
          { partitions: todo, moved, records: scores, ids, ms: Date.now() - started },
          'state_restored',
        );
      }
      for (const p of todo) this.restoredAt.set(p, committed.get(p));
    })();
    for (const p of wanted) {
      const failed = restore.catch((err: unknown) => {
        // Without its state the partition must not be processed: retry on the next access.
        if (this.restores.get(p) === failed) this.restores.delete(p);
        this.log.error({ err, partition: p }, 'state_restore_failed');
        throw err;
      });
      // `ready(p)` sees the failure; a partition revoked before its first batch never
      // asks, and its failure must not end the process as an unhandled rejection.
      failed.catch(() => undefined);
      this.restores.set(p, failed);
    }
  }

  /** True when the partition's committed offset moved since this worker last had it. */
  private movedSince(partition: number, committed: bigint | undefined): boolean {
    if (committed === undefined) return false;
    const last = this.deps.committedHere?.(partition) ?? this.restoredAt.get(partition);
    return last !== undefined && last !== committed;
  }

  private async restoreScores(partitions: number[]): Promise<number> {
    const { scorer } = this.deps;
    if (!scorer) return 0;
    const records = await readPartitions(this.deps.kafka, this.deps.topic, partitions);
    for (const p of partitions)
      await scorer.restore(
        p,
        records.filter((r) => r.partition === p),
      );
    return records.length;
  }

  private async restoreIds(
    partitions: number[],
    committed: ReadonlyMap<number, bigint>,
  ): Promise<number> {
    const { recent } = this.deps;
    if (!recent?.ids.enabled) return 0;
    const entries = new Map<number, { id: string; at: number }[]>(partitions.map((p) => [p, []]));
    await readRanges(
      this.deps.kafka,
      recent.rawTopic,
      partitions.filter((p) => (committed.get(p) ?? 0n) > 0n),
      (o) => {
        const to = committed.get(o.partition) ?? 0n;
        return { from: to - BigInt(recent.maxPerPartition), to };
      },
      (partition, m) => {
        const entry = idOf(m);
        if (entry) entries.get(partition)?.push(entry);
      },
    );
    const now = Date.now();
    let count = 0;
    for (const [p, list] of entries) {
      await recent.ids.restore(p, list, now);
      count += await recent.ids.size(p);
    }
    return count;
  }

  /** Resolves once partition p's state is restored (at once when there is none to keep). */
  async ready(partition: number): Promise<void> {
    if (!this.hasState) return;
    const pending = this.restores.get(partition);
    if (pending) return pending;
    this.restore([partition], false);
    return this.restores.get(partition);
  }
}
