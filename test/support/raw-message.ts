/** A raw-topic record as the worker's consumer receives it: an event wrapped as an edge would. */
import type { KafkaMessage } from 'kafkajs';
import { toKafkaMessage, wrapEvent } from '../../lib/envelope';

export function rawMessage(
  event: object,
  offset: number,
  opts: { replyTo?: string; timestamp?: number } = {},
): KafkaMessage {
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
    headers: m.headers,
    offset: String(offset),
    timestamp: String(opts.timestamp ?? 0),
    attributes: 0,
  } as KafkaMessage;
}
