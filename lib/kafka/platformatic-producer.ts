/**
 * The second Kafka client behind the producer port (`SendBatchPort`): `@platformatic/kafka`
 * 1.x (maintained, pure JavaScript; its 2.x line needs Node >= 22). Chosen with
 * `INTAKE_KAFKA_CLIENT=platformatic`; kafkajs stays the default.
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
 * Its answers are translated to kafkajs' `RecordMetadata` (one base offset per
 * partition), which the batching producer already reads.
 */
import { createRequire } from 'node:module';
import type * as Platformatic from '@platformatic/kafka' with { 'resolution-mode': 'import' };
import type { ProducerBatch, RecordMetadata } from 'kafkajs';
import { assertAcknowledged } from './acknowledged';
import type { SendBatchPort } from './batching-producer';

export interface PlatformaticProducerOptions {
  clientId: string;
  brokers: string[];
  /** Per request (ms). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Retries of one request inside the client (same sequence numbers: no duplicates). */
  retries?: number;
}

// NOTE: the package is ESM only; Node >= 20.19 loads it with require() (jest transforms
// it to CommonJS: jest.config.js). Loaded on first use, so an edge on kafkajs does not
// carry it.
let loaded: typeof Platformatic | null = null;
const platformatic = (): typeof Platformatic =>
  (loaded ??= createRequire(__filename)('@platformatic/kafka') as typeof Platformatic);

type Client = Platformatic.Producer<Buffer, Buffer, string, Buffer>;
type Message = Platformatic.MessageToProduce<Buffer, Buffer, string, Buffer>;

export class PlatformaticProducer implements SendBatchPort {
  private client: Client;
  private tail: Promise<unknown> = Promise.resolve();
  resets = 0;

  constructor(private readonly options: PlatformaticProducerOptions) {
    this.client = this.make();
  }

  private make(): Client {
    const o = this.options;
    const { Producer, ProduceAcks } = platformatic();
    return new Producer<Buffer, Buffer, string, Buffer>({
      clientId: o.clientId,
      bootstrapBrokers: o.brokers,
      connectTimeout: o.connectTimeoutMs ?? 3000,
      timeout: o.requestTimeoutMs ?? 10_000,
      retries: o.retries ?? 5,
      retryDelay: 100,
      serializers: { headerKey: headerKeyBytes },
      // Safety-critical, after the options: cannot be turned off.
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
    });
  }

  /** Connects and obtains the producer id, so the first send does not pay for it. */
  async connect(): Promise<void> {
    await this.client.initIdempotentProducer({});
  }

  async disconnect(): Promise<void> {
    await this.client.close();
  }

  /** Resolves only after Kafka acknowledged (acks=all) every record of the batch. */
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const run = this.tail.then(() => this.sendNow(batch));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async sendNow(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const topicMessages = batch.topicMessages ?? [];
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
    let result;
    try {
      result = await this.client.send({ messages, acks: platformatic().ProduceAcks.ALL });
    } catch (err) {
      throw withKafkaType(err);
    }
    const metadata: RecordMetadata[] = (result.offsets ?? []).map((o) => ({
      topicName: o.topic,
      partition: o.partition,
      errorCode: 0,
      baseOffset: o.offset.toString(),
    }));
    assertAcknowledged(topicMessages, metadata);
    return metadata;
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

/**
 * Gives the client's error kafkajs' `type` field (the broker's error name, e.g.
 * MESSAGE_TOO_LARGE), found in it or the errors it aggregates, so `fromKafkaError` reads
 * both clients' errors alike.
 */
function withKafkaType(err: unknown): unknown {
  const seen: unknown[] = [err];
  for (let i = 0; i < seen.length && i < 32; i++) {
    const e = seen[i] as { apiId?: unknown; errors?: unknown; cause?: unknown } | null;
    if (typeof e?.apiId === 'string') {
      if (err instanceof Error) Object.assign(err, { type: e.apiId });
      return err;
    }
    if (Array.isArray(e?.errors)) seen.push(...(e.errors as unknown[]));
    if (e?.cause) seen.push(e.cause);
  }
  return err;
}

function toBuffer(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}
