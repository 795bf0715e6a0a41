/**
 * The port of the worker's durable outbound log (sender-based message logging): what the
 * consumer and the sender need from it. The implementation (an embedded store) lives in
 * `outbound-log.ts`; unit tests use an in-memory one.
 */

export interface OutboundEntry {
  /** Assigned by the log: increasing and unique across restarts. */
  seq: bigint;
  topic: string;
  partition: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /** The input record this entry was produced from. */
  source: { topic: string; partition: number; offset: string };
}

export type NewEntry = Omit<OutboundEntry, 'seq'>;

export interface OutboundLogStats {
  entries: number;
  bytes: number;
  appends: number;
  syncs: number;
  removes: number;
}

export interface OutboundLogPort {
  /** Resolves only after every entry is on disk (one sync per call: group commit). */
  append(entries: NewEntry[]): Promise<OutboundEntry[]>;
  /** Deletes acknowledged entries. */
  remove(seqs: bigint[]): Promise<void>;
  /** Every entry still in the log, in seq order. */
  pending(): Iterable<OutboundEntry> | AsyncIterable<OutboundEntry>;
  stats(): OutboundLogStats;
  /** True above the configured bound: the worker pauses consumption. */
  isFull(): boolean;
  close(): Promise<void>;
}
