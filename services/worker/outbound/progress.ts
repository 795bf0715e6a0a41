/**
 * Delivery progress per input partition, for receipts and the hand-over: the offset below
 * which every input record of a partition has all its outbound records acknowledged
 * downstream ("delivered up to"). Input offsets are recorded in commit order; each
 * partition keeps the offsets still waiting for acknowledgements in order, with an index
 * by offset, so an acknowledgement costs O(1).
 */
import type { OutboundRecord } from './record';

interface Pending {
  offset: bigint;
  remaining: number;
}

interface PartitionProgress {
  queue: Pending[];
  /** Index of the first entry of `queue` still pending (entries before it are done). */
  head: number;
  byOffset: Map<string, Pending>;
  /** Next offset after the last input record handed over (committed). */
  committedNext: bigint;
}

export interface ProgressSnapshot {
  partition: number;
  /** Exclusive: every input offset below it is delivered. */
  deliveredUpTo: string;
  committedNext: string;
}

export class DeliveryProgress {
  private readonly partitions = new Map<number, PartitionProgress>();

  private of(partition: number): PartitionProgress {
    let p = this.partitions.get(partition);
    if (!p) {
      p = { queue: [], head: 0, byOffset: new Map(), committedNext: -1n };
      this.partitions.set(partition, p);
    }
    return p;
  }

  /**
   * Records that input records up to `lastOffset` were handed over (logged and committed);
   * `records` are their outbound records still to be acknowledged (none when they were
   * acknowledged before the commit, or produced nothing). Records are in input order.
   */
  committed(partition: number, records: readonly OutboundRecord[], lastOffset: bigint): void {
    const p = this.track(partition, records);
    if (lastOffset + 1n > p.committedNext) p.committedNext = lastOffset + 1n;
  }

  /**
   * Records handed off whose input is not committed (SBML: a chunk the group refused to
   * commit, held in the log): waited for like committed ones, the committed offset left
   * where it is.
   */
  held(partition: number, records: readonly OutboundRecord[]): void {
    this.track(partition, records);
  }

  private track(partition: number, records: readonly OutboundRecord[]): PartitionProgress {
    const p = this.of(partition);
    let last: Pending | undefined;
    let lastSource: string | undefined;
    for (const r of records) {
      if (last && r.source.offset === lastSource) {
        last.remaining += 1;
        continue;
      }
      lastSource = r.source.offset;
      const known = p.byOffset.get(r.source.offset);
      if (known) {
        known.remaining += 1;
        last = known;
        continue;
      }
      last = { offset: BigInt(r.source.offset), remaining: 1 };
      p.queue.push(last);
      p.byOffset.set(r.source.offset, last);
    }
    return p;
  }

  /** Listens to acknowledgements: each record counts for the input offset it came from. */
  readonly acknowledged = (records: readonly OutboundRecord[]): void => {
    for (const r of records) {
      const p = this.partitions.get(r.source.partition);
      const entry = p?.byOffset.get(r.source.offset);
      if (!p || !entry) continue;
      entry.remaining -= 1;
      if (entry.remaining <= 0) p.byOffset.delete(r.source.offset);
      while (p.head < p.queue.length && p.queue[p.head]!.remaining <= 0) p.head += 1;
      if (p.head > 1024 && p.head * 2 > p.queue.length) {
        p.queue.splice(0, p.head);
        p.head = 0;
      }
    }
  };

  snapshot(partition: number): ProgressSnapshot | null {
    const p = this.partitions.get(partition);
    if (!p || p.committedNext < 0n) return null;
    const head = p.queue[p.head];
    const deliveredUpTo = head ? head.offset : p.committedNext;
    return {
      partition,
      deliveredUpTo: deliveredUpTo.toString(),
      committedNext: p.committedNext.toString(),
    };
  }

  /** True while some outbound record of the partition is not acknowledged yet. */
  hasPending(partition: number): boolean {
    const p = this.partitions.get(partition);
    return p !== undefined && p.head < p.queue.length;
  }

  partitionsKnown(): number[] {
    return [...this.partitions.keys()];
  }

  forget(partition: number): void {
    this.partitions.delete(partition);
  }
}
