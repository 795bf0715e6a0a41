/** A raw-topic record as the worker's consumer receives it: an event wrapped as an edge would. */
import type { ConsumedRecord } from '../../lib/kafka/port';
import { toKafkaMessage, wrapEvent } from '../../lib/envelope';

export function rawMessage(
  event: object,
  offset: number,
  opts: { replyTo?: string; timestamp?: number } = {},
): ConsumedRecord {
  const r = wrapEvent(event, {
    source: 's',
    pattern: opts.replyTo ? 'request-response' : 'request-ack',
    receivedAt: new Date(),
    meta: {},
    replyTo: opts.replyTo,
  });
  if (!r.ok) throw new Error(r.reason);
  const m = toKafkaMessage(r.envelope);
  return {
    key: Buffer.from(m.key as string),
    value: Buffer.from(m.value as string),
    headers: Object.fromEntries(
      Object.entries(m.headers ?? {}).map(([k, v]) => [k, v === undefined ? v : Buffer.from(v)]),
    ),
    offset: String(offset),
    timestamp: String(opts.timestamp ?? 0),
  };
}
