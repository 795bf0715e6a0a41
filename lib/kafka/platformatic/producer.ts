/**
 * The port's producer on `@platformatic/kafka` 1.x (maintained, pure JavaScript; its 2.x
 * line needs Node >= 22). Chosen with `INTAKE_KAFKA_CLIENT=platformatic`; kafkajs stays
 * the default.
 *
 * Guarantees, the same as the kafkajs lane's:
 * - acks=all and an idempotent producer, applied after any override;
 * - one send in flight per producer: sends are chained, so each partition's records are
 *   appended in the order sent. (With several in flight, this client's idempotent
 *   producer fails with OUT_OF_ORDER_SEQUENCE_NUMBER.)
 * - an answer that leaves out a partition of the request is a failure, never an
 *   acknowledgement (acknowledged.ts);
 * - after a failed request, `reset()` starts over with a new producer id: the client
 *   advances its sequence numbers only on success, so a request that failed on our side
 *   but was written by the broker would make the next one look like its duplicate.
 *
 * Its answers become the port's acks (one base offset per partition).
 */
import type { Connection, Platformatic } from './load';
import { baseOptions, platformatic } from './load';
import { assertAcknowledged } from '../acknowledged';
import type { Ack, ProduceRequest, Producer } from '../port';
import { translated } from './errors';

export type Client = Platformatic.Producer<Buffer, Buffer, string, Buffer>;
export type Message = Platformatic.MessageToProduce<Buffer, Buffer, string, Buffer>;

export class PlatformaticProducer implements Producer {
  private client: Client;
  private tail: Promise<unknown> = Promise.resolve();
  resets = 0;

  /** Retries inside the client resend with the same sequence numbers: no duplicates. */
  constructor(private readonly options: Connection) {
    this.client = this.make();
  }

  private make(): Client {
    const { Producer, ProduceAcks } = platformatic();
    return new Producer<Buffer, Buffer, string, Buffer>({
      ...baseOptions(this.options),
      serializers,
      // Safety-critical, after the options: cannot be turned off.
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
    });
  }

  /** Connects and obtains the producer id, so the first send does not pay for it. */
  async connect(): Promise<void> {
    await translated('connecting the producer failed', () =>
      this.client.initIdempotentProducer({}),
    );
  }

  disconnect(): Promise<void> {
    return translated('disconnecting the producer failed', () => this.client.close());
  }

  /** Resolves only after Kafka acknowledged (acks=all) every record of the batch. */
  sendBatch(batch: ProduceRequest): Promise<Ack[]> {
    const run = this.tail.then(() => this.sendNow(batch));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async sendNow(batch: ProduceRequest): Promise<Ack[]> {
    const { topicMessages } = batch;
    const messages = toMessages(topicMessages);
    const result = await translated('Kafka did not acknowledge the batch', () =>
      this.client.send({ messages, acks: platformatic().ProduceAcks.ALL }),
    );
    return toAcks(topicMessages, result);
  }

  /** A new producer (a new producer id) after a failed request; see the module comment. */
  async reset(): Promise<void> {
    const old = this.client;
    this.client = this.make();
    this.resets += 1;
    await old.close().catch(() => undefined);
    await this.connect();
  }
}

/**
 * The client's answer as the port's acks (one base offset per partition); one that leaves
 * out a partition of the request is a failure (acknowledged.ts).
 */
export function toAcks(
  topicMessages: ProduceRequest['topicMessages'],
  result: Awaited<ReturnType<Client['send']>>,
): Ack[] {
  const acks: Ack[] = (result.offsets ?? []).map((o) => ({
    topic: o.topic,
    partition: o.partition,
    baseOffset: o.offset.toString(),
  }));
  assertAcknowledged(topicMessages, acks);
  return acks;
}

/** The client's serializers: header names are few (Intake's own), their bytes made once. */
export const serializers = { headerKey: headerKeyBytes };

/** Header names are few (Intake's own): their bytes are made once, not per record. */
const headerKeys = new Map<string, Buffer>();
function headerKeyBytes(key?: string): Buffer | undefined {
  if (key === undefined) return undefined;
  let bytes = headerKeys.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(key);
    if (headerKeys.size < 64) headerKeys.set(key, bytes);
  }
  return bytes;
}

/** The port's records as the client's messages (header values as bytes). */
export function toMessages(topicMessages: ProduceRequest['topicMessages']): Message[] {
  const messages: Message[] = [];
  for (const { topic, messages: list } of topicMessages) {
    for (const m of list) {
      const headers: Record<string, Buffer> = {};
      const given = m.headers;
      for (const k in given) {
        const v = given[k];
        if (typeof v === 'string') headers[k] = Buffer.from(v);
        else if (Buffer.isBuffer(v)) headers[k] = v;
      }
      messages.push({
        topic,
        partition: m.partition,
        key: m.key === null || m.key === undefined ? undefined : toBuffer(m.key),
        value: m.value === null ? undefined : toBuffer(m.value),
        headers,
      });
    }
  }
  return messages;
}

function toBuffer(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}
