/**
 * The delivery-progress record: what a worker publishes to the compacted progress topic
 * for each raw partition it handled, keyed `<raw topic>/<partition>`. Edges answer receipts
 * from it; a worker taking a partition over waits on it (the hand-over). Written by the
 * worker, read by edges and workers: this is its one definition.
 */

export interface ProgressRecord {
  /** The raw topic. */
  topic: string;
  partition: number;
  /** Exclusive: every raw offset below it has all its outputs acknowledged downstream. */
  deliveredUpTo: string;
  /** Exclusive: every raw offset below it was processed (its outputs durable, input committed). */
  committedNext: string;
  /** The worker instance that published it. */
  worker: string;
  at: string;
}

export const progressKey = (topic: string, partition: number): string => `${topic}/${partition}`;

export const encodeProgress = (record: ProgressRecord): string => JSON.stringify(record);

const OFFSET = /^\d+$/;

/** A progress record read back from the topic; throws on anything else (a view skips it). */
export function parseProgress(value: Buffer | string): ProgressRecord {
  const v = JSON.parse(value.toString()) as Partial<ProgressRecord> | null;
  if (
    typeof v?.worker !== 'string' ||
    typeof v.topic !== 'string' ||
    typeof v.partition !== 'number' ||
    typeof v.deliveredUpTo !== 'string' ||
    !OFFSET.test(v.deliveredUpTo) ||
    typeof v.committedNext !== 'string' ||
    !OFFSET.test(v.committedNext) ||
    typeof v.at !== 'string'
  )
    throw new Error('not a progress record');
  return v as ProgressRecord;
}
