/**
 * The hand-over of a raw partition between workers, for the state derived from it.
 *
 * With SBML a worker commits its input once the outbound records are in its local log,
 * before they reach Kafka. When a partition moves, its previous owner may still be sending
 * score records of events below the committed offset. A new owner that restored the
 * scores right away would miss those increments (and their late records would land after
 * its own). So before restoring partition p, the new owner waits until the delivery
 * progress of p (the compacted progress topic, followed by a live view) says that every
 * input record below the group's committed offset is delivered downstream.
 *
 * Settled when any of these holds:
 * - the group has no committed offset for p (nothing was processed before);
 * - the latest progress record of p has `deliveredUpTo` at or above the committed offset;
 * - that record is this worker's own and nothing of p is pending here: a worker resends its
 *   whole log before it consumes, so after a restart its earlier records are all out;
 * - no progress record of p appeared within `noProgressGraceMs`: a live previous owner
 *   publishes the progress of every partition it committed within a progress interval, so
 *   none had anything of p in flight (e.g. the offsets were set by an operator, or by a
 *   worker's first assignment that never received an event of p).
 *
 * Bounded: past `timeoutMs` (a previous owner that crashed and is not back to resend its
 * log) the restore goes on and says so in the log (`handover_unconfirmed`); the scores of
 * the visitors whose records were still in that log may then miss those events.
 */
import type { Admin } from '../../../lib/kafka/port';
import { sleep } from '../../../lib/lifecycle';
import type { Logger } from '../../../lib/logger';
import { withRetry } from '../../../lib/retry';
import { progressKey } from '../../../lib/records/progress';
import type { ProgressRecord } from '../../../lib/records/progress';

export interface HandoverDeps {
  admin: Pick<Admin, 'fetchOffsets'>;
  groupId: string;
  rawTopic: string;
  /** The latest progress record per `<raw topic>/<partition>` key. */
  progress: { get(key: string): Pick<ProgressRecord, 'deliveredUpTo' | 'worker'> | undefined };
  /** True while this worker still has outbound records of the partition unacknowledged. */
  pendingHere: (partition: number) => boolean;
  worker: string;
  timeoutMs: number;
  /** How long a partition without any progress record is waited for (a few progress intervals). */
  noProgressGraceMs: number;
  pollMs?: number;
  logger: Logger;
}

export class Handover {
  private readonly log: Logger;

  constructor(private readonly deps: HandoverDeps) {
    this.log = deps.logger.child({ module: 'handover' });
  }

  /**
   * Resolves once every partition is settled, or once the timeout passed, with the group's
   * committed offsets (as read when the wait started).
   */
  async settled(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>> {
    const committed = await this.committedOffsets();
    const started = Date.now();
    let waiting = partitions.filter((p) => !this.isSettled(p, committed.get(p), 0));
    if (waiting.length === 0) return committed;
    this.log.info({ partitions: waiting }, 'handover_waiting');
    while (waiting.length > 0 && Date.now() - started < this.deps.timeoutMs) {
      await sleep(this.deps.pollMs ?? 100);
      const waited = Date.now() - started;
      waiting = waiting.filter((p) => !this.isSettled(p, committed.get(p), waited));
    }
    const ms = Date.now() - started;
    if (waiting.length === 0) this.log.info({ partitions, ms }, 'handover_settled');
    else
      this.log.warn(
        { partitions: waiting, ms, committed: waiting.map((p) => String(committed.get(p))) },
        'handover_unconfirmed',
      );
    return committed;
  }

  private isSettled(partition: number, committed: bigint | undefined, waited: number): boolean {
    if (committed === undefined || committed < 0n) return true;
    const record = this.deps.progress.get(progressKey(this.deps.rawTopic, partition));
    if (!record) return waited >= this.deps.noProgressGraceMs;
    if (BigInt(record.deliveredUpTo) >= committed) return true;
    return record.worker === this.deps.worker && !this.deps.pendingHere(partition);
  }

  /** The group's committed offsets of the raw topic's partitions, as they are now. */
  async committedOffsets(): Promise<Map<number, bigint>> {
    const { admin, groupId, rawTopic } = this.deps;
    const offsets = await withRetry(() => admin.fetchOffsets(groupId, rawTopic));
    return new Map(offsets.map((p) => [p.partition, BigInt(p.offset)]));
  }
}
