/**
 * The one record type of the worker's delivery flow. The pipeline's output stage builds
 * it (value serialised once), and it travels unchanged through the outbound log, the
 * sender, delivery progress, replies and metrics: append -> commit input -> send ->
 * acknowledged.
 */

export interface OutboundRecord {
  topic: string;
  partition: number;
  key: string;
  /** Serialised once, when the record is built. */
  value: Buffer;
  headers: Record<string, string>;
  /** The input record (raw partition and offset) it was produced from. */
  source: { partition: number; offset: string };
  /** The processed event, its dead letter, or a side output (score, rejection, reply). */
  kind: 'processed' | 'dlq' | 'side';
  /** Request/response: the edge waiting for this event's outcome (processed and dlq records). */
  replyTo?: string;
  /** The outbound log's sequence number, once logged (SBML). */
  seq?: number;
}

/** Where the outbound records of each kind go. */
export interface OutboundTopics {
  processed: string;
  dlq: string;
  replies: string;
  /** Topics of side outputs, by the output name steps emit to (e.g. `scores`, `rejections`). */
  outputs: Record<string, string>;
}

/** Called with records the downstream topics acknowledged, in send order, and their offsets. */
export type AcknowledgedListener = (
  records: readonly OutboundRecord[],
  offsets: readonly string[],
) => void;
