/**
 * Request/response outcomes. When a request/response event's outputs were acknowledged
 * downstream (or it was dropped), the worker writes a `Reply` to the replies topic, keyed
 * by the waiting edge's instance; that edge answers its client (200 / 422). Written by the
 * worker, read by edges: this is its one definition.
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

/**
 * The reply as bytes. `resultJson`, when given, is the processed event exactly as it was
 * delivered (already JSON): it is spliced in as `result`, not parsed and written again.
 */
export function encodeReply(reply: Omit<Reply, 'result'>, resultJson?: Buffer): Buffer {
  const head = JSON.stringify(reply);
  if (!resultJson) return Buffer.from(head);
  return Buffer.concat([Buffer.from(`${head.slice(0, -1)},"result":`), resultJson, CLOSE]);
}

const CLOSE = Buffer.from('}');

/** A reply read back from the topic, or null when the value is not one. */
export function parseReply(value: Buffer | string): Reply | null {
  try {
    const r = JSON.parse(value.toString()) as Partial<Reply> | null;
    if (
      typeof r?.id !== 'string' ||
      typeof r.replyTo !== 'string' ||
      !['processed', 'rejected', 'dropped'].includes(r.outcome as string)
    )
      return null;
    return r as Reply;
  } catch {
    return null;
  }
}
