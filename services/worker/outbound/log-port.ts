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
  /** Appends and removes that failed (disk full, I/O error) since start. */
  failures: number;
  /** Why the last append failed, while appends fail; null once one succeeded. */
  failing: string | null;
}

export interface OutboundLogPort {
  /**
   * Resolves only after every entry is on disk (one sync per call: group commit); rejects
   * with a retriable `STORE_FAILED` when the store cannot write (disk full): nothing of
   * the call is then in the log.
   */
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
