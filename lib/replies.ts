/**
 * Request/response outcomes. When a request/response event's outputs were acknowledged
 * downstream (or it was dropped), the worker writes a `Reply` to the replies topic, keyed
 * by the waiting edge's instance; that edge answers its client (200 / 422).
 */

export interface ReplyPosition {
  topic: string;
  partition: number;
  offset: string;
}

export interface Reply {
  id: string;
  replyTo: string;
  outcome: 'processed' | 'rejected' | 'dropped';
  /** The processed event (outcome `processed`). */
  result?: unknown;
  /** Where the outcome landed downstream (processed or DLQ record). */
  position?: ReplyPosition;
  reason?: string;
  step?: string;
  at: string;
}

export function parseReply(value: Buffer | string): Reply | null {
  try {
    const r = JSON.parse(value.toString()) as Partial<Reply>;
    if (typeof r.id !== 'string' || typeof r.replyTo !== 'string' || typeof r.outcome !== 'string')
      return null;
    return r as Reply;
  } catch {
    return null;
  }
}
