/**
 * The per-visitor purchase-propensity score (model in `scoring/propensity.ts`).
 *
 * State: per raw partition, a map of visitor -> counts, bounded by an LRU of
 * `maxVisitorsPerPartition` (the least recently seen visitor is forgotten first; its next
 * event starts from its published score once restored, or from zero).
 *
 * Output: for every scored event, a side record to the `scores` output (the compacted
 * `intake.scores` topic, keyed by visitor) with the visitor's FULL state; within one chunk
 * only a visitor's last record is delivered (`latestPerKey`), as compaction would keep.
 * That topic is both what any edge reads to answer `GET /v1/visitors/:id/score` and this
 * step's changelog: after a rebalance or a crash, the worker that gets raw partition p restores
 * the state from scores partition p (same partition count, same key hash) with
 * `restore()` before processing p.
 *
 * Idempotence: the state remembers the last raw offset applied per visitor; an event at or
 * below it (re-read after a crash) leaves the state as it is and re-emits it.
 */
import type { ProcessedRecord } from '../../../../lib/records/processed';
import { isoNow } from '../../../../lib/clock';
import { atOrAfter } from '../../../../lib/kafka/offsets';
import { ok } from '../../../../lib/pipeline';
import type { Step, StepContext, StepResult } from '../../../../lib/pipeline';
import { asScoreRecord } from '../../../../lib/records/score';
import type { ScoreRecord } from '../../../../lib/records/score';
import { emptyCounts, isScored, nextCounts, propensity } from '../scoring/propensity';

export type { ScoreRecord };

export const SCORES_OUTPUT = 'scores';

export class ScoreStep implements Step {
  readonly name = 'score';
  readonly adds = ['propensity'];
  private readonly state = new Map<number, Map<string, ScoreRecord>>();

  constructor(private readonly deps: { maxVisitorsPerPartition: number }) {}

  run(event: ProcessedRecord, ctx: StepContext): StepResult {
    if (!isScored(event.type)) return ok(event);
    const visitors = this.partition(ctx.partition);
    const previous = visitors.get(event.key);
    let record: ScoreRecord;
    if (previous && atOrAfter(previous.offset, ctx.offset)) {
      record = previous; // a replay of an event already applied
    } else {
      const counts = nextCounts(previous?.counts ?? emptyCounts(), event.type);
      record = {
        visitorId: event.key,
        score: propensity(counts),
        counts,
        updatedAt: isoNow(),
        partition: ctx.partition,
        offset: ctx.offset,
      };
    }
    this.remember(visitors, record);
    ctx.emit({ output: SCORES_OUTPUT, key: event.key, value: record, latestPerKey: true });
    event.propensity = record.score;
    return ok(event);
  }

  /**
   * Rebuilds a partition's state from its published score records: per visitor, the one
   * of the highest raw offset (a record resent late by a previous owner does not win).
   */
  restore(partition: number, records: Iterable<{ key: string; value: unknown }>): number {
    const visitors = this.partition(partition);
    let n = 0;
    for (const { key, value } of records) {
      const record = asScoreRecord(value);
      if (!record) continue;
      const known = visitors.get(key);
      if (known && !atOrAfter(record.offset, known.offset)) continue; // an older state
      this.remember(visitors, { ...record, visitorId: key });
      n += 1;
    }
    return n;
  }

  forget(partition: number): void {
    this.state.delete(partition);
  }

  /** Drops a visitor's state, whatever partition holds it (a forget request); true if held. */
  drop(visitorId: string): boolean {
    let held = false;
    for (const visitors of this.state.values()) held = visitors.delete(visitorId) || held;
    return held;
  }

  /** The current record of a visitor, if this worker holds it. */
  get(partition: number, visitorId: string): ScoreRecord | undefined {
    return this.state.get(partition)?.get(visitorId);
  }

  visitorCount(partition: number): number {
    return this.state.get(partition)?.size ?? 0;
  }

  private partition(partition: number): Map<string, ScoreRecord> {
    let visitors = this.state.get(partition);
    if (!visitors) {
      visitors = new Map();
      this.state.set(partition, visitors);
    }
    return visitors;
  }

  /** Map order is recency: re-insert on touch, evict the oldest beyond the bound. */
  private remember(visitors: Map<string, ScoreRecord>, record: ScoreRecord): void {
    visitors.delete(record.visitorId);
    visitors.set(record.visitorId, record);
    while (visitors.size > this.deps.maxVisitorsPerPartition) {
      const oldest = visitors.keys().next().value;
      if (oldest === undefined) break;
      visitors.delete(oldest);
    }
  }
}
