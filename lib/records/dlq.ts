/**
 * The headers of a dead letter: why the record was rejected, by which step, when, and
 * where it came from in the raw topic. The record's own value and headers are kept as
 * they were. Written by the worker, read by the worker's replies and `intake dlq replay`:
 * this is their one definition.
 */
import { DLQ_HEADER, headerString } from './headers';
import type { HeaderValue } from './headers';
import { MAX_REASON_LENGTH } from './rejection';

export { DLQ_HEADER };

/** Headers that describe one rejection: a replay drops them, the next rejection writes its own. */
export const isDlqHeader = (name: string): boolean => /^intake-(dlq-|source-)/.test(name);

export interface DeadLetter {
  reason: string;
  step: string;
  at: string;
  source: { topic: string; partition: number; offset: string };
}

export function dlqHeaders(d: DeadLetter): Record<string, string> {
  return {
    [DLQ_HEADER.reason]: d.reason.slice(0, MAX_REASON_LENGTH),
    [DLQ_HEADER.step]: d.step,
    [DLQ_HEADER.sourceTopic]: d.source.topic,
    [DLQ_HEADER.sourcePartition]: String(d.source.partition),
    [DLQ_HEADER.sourceOffset]: d.source.offset,
    [DLQ_HEADER.at]: d.at,
  };
}

/** The dead letter described by a record's headers, or null when they are not a DLQ record's. */
export function readDlqHeaders(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
): DeadLetter | null {
  const get = (name: string): string | undefined => headerString(headers, name);
  const reason = get(DLQ_HEADER.reason);
  const step = get(DLQ_HEADER.step);
  const topic = get(DLQ_HEADER.sourceTopic);
  const partition = Number(get(DLQ_HEADER.sourcePartition));
  const offset = get(DLQ_HEADER.sourceOffset);
  if (reason === undefined || step === undefined || topic === undefined || offset === undefined)
    return null;
  if (!Number.isInteger(partition) || !/^\d+$/.test(offset)) return null;
  return { reason, step, at: get(DLQ_HEADER.at) ?? '', source: { topic, partition, offset } };
}
