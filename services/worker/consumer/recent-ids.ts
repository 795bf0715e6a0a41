/**
 * The ids of the events a worker processed recently, per raw partition: a producer that
 * retries an acknowledged event (same `id`, so same key and partition) within the window
 * gets it processed once. Both limits bound it, whichever comes first: `windowMs` by the
 * record's timestamp, and `maxPerPartition` ids (the oldest go first).
 *
 * Consistent with the committed input: after an assignment the window of a partition is
 * rebuilt from the raw records below the committed offset (`state-restorer.ts`), i.e.
 * exactly the events whose outputs are durable downstream (HML) or in the outbound log
 * (SBML); an event whose processing was lost with a crash is not in it, and is processed
 * when read again.
 */
import type { ConsumedRecord } from '../../../lib/kafka/port';
import { HEADER_ID, headerString } from '../../../lib/records/headers';

export interface RecentIdsOptions {
  windowMs: number;
  /** 0 turns deduplication off. */
  maxPerPartition: number;
}

export class RecentIds {
  private readonly partitions = new Map<number, Map<string, number>>();

  constructor(private readonly options: RecentIdsOptions) {}

  get enabled(): boolean {
    return this.options.maxPerPartition > 0;
  }

  /** True when `id` was processed on the partition within the window before `at` (ms). */
  has(partition: number, id: string, at: number): boolean {
    const before = this.partitions.get(partition)?.get(id);
    return before !== undefined && at - before <= this.options.windowMs;
  }

  /**
   * Remembers the ids of input whose hand-off is committed (never earlier: a chunk that is
   * abandoned and read again must not meet its own ids).
   */
  add(partition: number, entries: Iterable<{ id: string; at: number }>): void {
    if (!this.enabled) return;
    let ids = this.partitions.get(partition);
    if (!ids) {
      ids = new Map();
      this.partitions.set(partition, ids);
    }
    let latest = 0;
    for (const { id, at } of entries) {
      ids.delete(id); // re-inserted: insertion order stays time order
      ids.set(id, at);
      if (at > latest) latest = at;
    }
    this.evict(ids, latest);
  }

  /** Replaces a partition's window with ids read back in offset order. */
  restore(partition: number, entries: Iterable<{ id: string; at: number }>, now: number): void {
    this.partitions.delete(partition);
    const recent: { id: string; at: number }[] = [];
    for (const e of entries) if (now - e.at <= this.options.windowMs) recent.push(e);
    this.add(partition, recent);
  }

  forget(partition: number): void {
    this.partitions.delete(partition);
  }

  size(partition: number): number {
    return this.partitions.get(partition)?.size ?? 0;
  }

  private evict(ids: Map<string, number>, now: number): void {
    for (const [id, at] of ids) {
      if (ids.size <= this.options.maxPerPartition && now - at <= this.options.windowMs) return;
      ids.delete(id);
    }
  }
}

/** The event ids of raw records (from their header) with their timestamps. */
export function idsOf(messages: readonly ConsumedRecord[]): { id: string; at: number }[] {
  const ids: { id: string; at: number }[] = [];
  for (const m of messages) {
    const entry = idOf(m);
    if (entry) ids.push(entry);
  }
  return ids;
}

/** A raw record's event id (from its header) and timestamp; undefined without an id. */
export function idOf(m: ConsumedRecord): { id: string; at: number } | undefined {
  const id = headerString(m.headers, HEADER_ID);
  return id ? { id, at: Number(m.timestamp) } : undefined;
}
