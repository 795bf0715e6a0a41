/**
 * The port of the worker's durable outbound log (sender-based message logging): what the
 * delivery and the sender need from it. The implementation (an embedded store) lives in
 * `outbound-log.ts`; unit tests use an in-memory one.
 */
import type { OutboundRecord } from '../../outbound/record';

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
   * Resolves only after every record is on disk (one sync per call: group commit), each
   * with its `seq` set (increasing, unique across restarts); rejects with a retriable
   * `STORE_FAILED` when the store cannot write (disk full): nothing of the call is then in
   * the log.
   */
  append(records: OutboundRecord[]): Promise<void>;
  /** Deletes acknowledged records by `seq`. */
  remove(seqs: number[]): Promise<void>;
  /** Every record still in the log, in seq order. */
  pending(): Iterable<OutboundRecord> | AsyncIterable<OutboundRecord>;
  stats(): OutboundLogStats;
  /** True above the configured bound: the worker pauses consumption. */
  isFull(): boolean;
  close(): Promise<void>;
}
