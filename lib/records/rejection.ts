/**
 * The rejection record: why a raw record went to the DLQ, in the compacted rejections
 * topic keyed by the raw position (`<raw topic>/<partition>/<offset>`), so any edge can
 * answer that event's receipt `rejected` with the reason. Written by the worker, read by
 * edges: this is its one definition.
 */

export interface Rejection {
  reason: string;
  /** The pipeline step that rejected it (`parse` when the record was not an envelope). */
  step: string;
  at: string;
}

/** The longest reason kept, in rejections and DLQ headers alike. */
export const MAX_REASON_LENGTH = 1000;

export const rejectionKey = (topic: string, partition: number, offset: string | bigint): string =>
  `${topic}/${partition}/${offset}`;

export const encodeRejection = (r: Rejection): string =>
  JSON.stringify({ reason: r.reason.slice(0, MAX_REASON_LENGTH), step: r.step, at: r.at });

/** A rejection read back from the topic; throws on anything else (a view skips it). */
export function parseRejection(value: Buffer | string): Rejection {
  const v = JSON.parse(value.toString()) as Partial<Rejection> | null;
  if (typeof v?.reason !== 'string' || typeof v.step !== 'string' || typeof v.at !== 'string')
    throw new Error('not a rejection record');
  return { reason: v.reason, step: v.step, at: v.at };
}
