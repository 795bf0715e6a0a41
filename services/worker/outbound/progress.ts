/**
 * Delivery progress per input partition, for receipts: the offset below which every
 * input record of a partition has all its outbound records acknowledged downstream
 * ("delivered up to"). Input offsets are tracked in commit order; acknowledgements arrive
 * in log order (the sender is FIFO), so each partition is a queue of (offset, records
 * still unacknowledged).
 */

interface Pending {
  offset: bigint;
  remaining: number;
}

interface PartitionProgress {
  queue: Pending[];
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
      p = { queue: [], committedNext: -1n };
      this.partitions.set(partition, p);
    }
    return p;
  }

  /**
   * Records that input records up to `lastOffset` were handed over (logged and
   * committed), with the number of outbound records each produced (0 for dropped ones).
   */
  committed(partition: number, outboundPerOffset: Map<bigint, number>, lastOffset: bigint): void {
    const p = this.of(partition);
    for (const [offset, remaining] of [...outboundPerOffset].sort((a, b) =>
      a[0] < b[0] ? -1 : 1,
    )) {
      if (remaining > 0) p.queue.push({ offset, remaining });
    }
    if (lastOffset + 1n > p.committedNext) p.committedNext = lastOffset + 1n;
  }

  /** Records the acknowledgement of one outbound record produced from `offset`. */
  acknowledged(partition: number, offset: bigint): void {
    const p = this.partitions.get(partition);
    if (!p) return;
    const entry = p.queue.find((q) => q.offset === offset);
    if (entry) entry.remaining -= 1;
    while (p.queue.length > 0 && p.queue[0]!.remaining <= 0) p.queue.shift();
  }

  snapshot(partition: number): ProgressSnapshot | null {
    const p = this.partitions.get(partition);
    if (!p || p.committedNext < 0n) return null;
    const head = p.queue[0];
    const deliveredUpTo = head ? head.offset : p.committedNext;
    return {
      partition,
      deliveredUpTo: deliveredUpTo.toString(),
      committedNext: p.committedNext.toString(),
    };
  }

  /** True while some outbound record of the partition is not acknowledged yet. */
  hasPending(partition: number): boolean {
    return (this.partitions.get(partition)?.queue.length ?? 0) > 0;
  }

  partitionsKnown(): number[] {
    return [...this.partitions.keys()];
  }

  forget(partition: number): void {
    this.partitions.delete(partition);
  }
}
