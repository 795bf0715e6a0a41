/**
 * Every Kafka header Intake writes or reads, and their one normalisation. Header values
 * arrive as strings, Buffers or (from some clients) arrays of them; every reader takes
 * them through `headerString` / `stringHeaders` here, never with its own `toString()`.
 */

/** The event id: on every record derived from an event (raw, processed, DLQ, side records). */
export const HEADER_ID = 'intake-id';
/** The source (producer) of a raw record. */
export const HEADER_SOURCE = 'intake-source';
/** W3C trace context of the request that sent the event. */
export const HEADER_TRACEPARENT = 'traceparent';
/** Outbound records logged by earlier versions carried the waiting edge in this header. */
export const HEADER_REPLY_TO = 'intake-reply-to';

/** A dead letter's headers (lib/records/dlq.ts). */
export const DLQ_HEADER = {
  reason: 'intake-dlq-reason',
  step: 'intake-dlq-step',
  at: 'intake-dlq-at',
  sourceTopic: 'intake-source-topic',
  sourcePartition: 'intake-source-partition',
  sourceOffset: 'intake-source-offset',
} as const;

/** A replayed dead letter's headers (`intake dlq replay`). */
export const REPLAY_HEADER = {
  from: 'intake-replayed-from',
  count: 'intake-replay-count',
} as const;

/** A header value as the clients hand it over. */
export type HeaderValue = string | Buffer | (string | Buffer)[] | undefined;

/** One header as a string (the first value of a repeated one); undefined when absent. */
export function headerString(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  name: string,
): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Every header as a string (the first value of a repeated one); absent ones left out. */
export function stringHeaders(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const name in headers) {
    const value = headerString(headers, name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
