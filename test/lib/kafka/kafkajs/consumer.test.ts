import { KafkaJSProtocolError } from 'kafkajs';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { IntakeError } from '../../../../lib/errors';
import { KafkajsConsumerPort } from '../../../../lib/kafka/kafkajs/consumer';
import type { BatchContext, Consumer } from '../../../../lib/kafka/port';

/** The consumer kafkajs would give: records runs and connects; the test emits its crashes. */
class CrashingConsumer {
  readonly events = { CRASH: 'consumer.crash' } as const;
  readonly runs: unknown[] = [];
  connects = 0;
  config: Record<string, unknown> = {};
  private crash: ((e: { payload: { error: Error; restart: boolean } }) => void) | null = null;

  on(_event: string, listener: (e: { payload: { error: Error; restart: boolean } }) => void): void {
    this.crash = listener;
  }

  connect(): Promise<void> {
    this.connects += 1;
    return Promise.resolve();
  }

  run(config: unknown): Promise<void> {
    this.runs.push(config);
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    return Promise.resolve();
  }

  crashWith(name: string, restart: boolean): void {
    const error = new Error('crash');
    error.name = name;
    this.crash?.({ payload: { error, restart } });
  }
}

function consumerOf(fake: CrashingConsumer): Consumer {
  const kafka = {
    consumer: (config: Record<string, unknown>) => {
      fake.config = config;
      return fake;
    },
  } as unknown as Kafka;
  return new KafkajsConsumerPort(kafka, { groupId: 'g' });
}

describe('KafkajsConsumerPort', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reads committed data only and never creates topics, whatever the caller asked', () => {
    const fake = new CrashingConsumer();
    consumerOf(fake);
    expect(fake.config).toMatchObject({ readUncommitted: false, allowAutoTopicCreation: false });
  });

  it('runs again, with the same handlers, after a crash kafkajs would not restart from', async () => {
    const fake = new CrashingConsumer();
    const consumer = consumerOf(fake);
    await consumer.run({ eachBatch: () => Promise.resolve() });
    fake.crashWith('KafkaJSGroupCoordinatorNotFound', false);
    await jest.advanceTimersByTimeAsync(1000);
    expect(fake.connects).toBe(1);
    expect(fake.runs).toHaveLength(2);
    expect(fake.runs[1]).toBe(fake.runs[0]);
  });

  it('leaves kafkajs its own restarts, other final errors, and a disconnected consumer alone', async () => {
    const fake = new CrashingConsumer();
    const consumer = consumerOf(fake);
    await consumer.run({ eachBatch: () => Promise.resolve() });
    fake.crashWith('KafkaJSGroupCoordinatorNotFound', true); // kafkajs restarts it itself
    fake.crashWith('KafkaJSNonRetriableError', false);
    await jest.advanceTimersByTimeAsync(5000);
    await consumer.disconnect();
    fake.crashWith('KafkaJSGroupCoordinatorNotFound', false);
    await jest.advanceTimersByTimeAsync(5000);
    expect(fake.runs).toHaveLength(1);
  });

  describe('an error out of eachBatch', () => {
    /** What kafkajs' runner gets when the port's handler throws, its batch's heartbeat failing with `heartbeatError`. */
    async function thrownToKafkajs(
      handler: (context: BatchContext) => Promise<void>,
      heartbeatError: Error = new Error('unused'),
    ): Promise<unknown> {
      const fake = new CrashingConsumer();
      const consumer = consumerOf(fake);
      await consumer.run({ eachBatch: handler });
      const { eachBatch } = fake.runs[0] as { eachBatch: (p: EachBatchPayload) => Promise<void> };
      const payload = {
        batch: {
          topic: 't',
          partition: 0,
          highWatermark: '1',
          messages: [],
          lastOffset: () => '0',
        },
        heartbeat: () => Promise.reject(heartbeatError),
        isRunning: () => true,
        isStale: () => false,
        resolveOffset: () => undefined,
      } as unknown as EachBatchPayload;
      return eachBatch(payload).then(
        () => undefined,
        (err: unknown) => err,
      );
    }

    /** A broker's error as kafkajs makes it (from its table of error codes). */
    const protocolError = (type: string): KafkaJSProtocolError =>
      new KafkaJSProtocolError(Object.assign(new Error(type), { type, code: 0, retriable: false }));

    it.each([
      ['REBALANCE_IN_PROGRESS', 'KAFKA_NOT_MEMBER'],
      ['ILLEGAL_GENERATION', 'KAFKA_NOT_MEMBER'],
      ['UNKNOWN_MEMBER_ID', 'KAFKA_NOT_MEMBER'],
      ['NOT_COORDINATOR_FOR_GROUP', 'KAFKA_UNAVAILABLE'],
    ])(
      "goes back to kafkajs as kafkajs' own when the heartbeat found the group moved on (%s): it rejoins on it",
      async (type, code) => {
        const original = protocolError(type);
        const seen: unknown[] = [];
        const thrown = await thrownToKafkajs(async (context) => {
          await context.heartbeat().catch((err: unknown) => {
            seen.push(err);
            throw err;
          });
        }, original);
        // The handler saw Intake's error; kafkajs gets its own back.
        expect(seen[0]).toBeInstanceOf(IntakeError);
        expect((seen[0] as IntakeError).code).toBe(code);
        expect(thrown).toBe(original);
      },
    );

    it("stays Intake's for any other failure, a heartbeat's or the handler's own", async () => {
      const timeout = await thrownToKafkajs(
        (context) => context.heartbeat(),
        protocolError('REQUEST_TIMED_OUT'),
      );
      expect(timeout).toBeInstanceOf(IntakeError);
      const own = new IntakeError('BAD_INPUT', 'not an event');
      expect(await thrownToKafkajs(() => Promise.reject(own))).toBe(own);
    });
  });
});
