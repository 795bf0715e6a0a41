/**
 * The one record type of the worker's delivery flow. `outbound/outputs.ts` builds it (value
 * serialised once, by the output's encoder), and it travels unchanged through the outbound
 * log, the sender or the transaction, delivery progress, replies and metrics: append ->
 * commit input -> send -> acknowledged. What a listener needs to know about a record is
 * in its typed fields, never read back from its headers (those are for readers downstream).
 */

/** What became of the event a record carries. */
export type OutboundOutcome =
  /** The processed event (`intake.processed`). */
  | { kind: 'processed' }
  /** The event's dead letter, and why it was rejected. */
  | { kind: 'dlq'; reason: string; step: string }
  /** A side output of the event (score, rejection, reply of a dropped event). */
  | { kind: 'side' };

export interface OutboundRecord {
  topic: string;
  partition: number;
  key: string;
  /** Serialised once, when the record is built. */
  value: Buffer;
  headers: Record<string, string>;
  /** The id of the event the record comes from (also its `intake-id` header). */
  id: string;
  /** The input record (raw partition and offset) it was produced from. */
  source: { partition: number; offset: string };
  outcome: OutboundOutcome;
  /** Request/response: the edge waiting for this event's outcome (processed and dlq records). */
  replyTo?: string;
  /** The outbound log's sequence number, once logged (SBML). */
  seq?: number;
}

/** Called with records the downstream topics acknowledged, in send order, and their offsets. */
export type AcknowledgedListener = (
  records: readonly OutboundRecord[],
  offsets: readonly string[],
) => void;
