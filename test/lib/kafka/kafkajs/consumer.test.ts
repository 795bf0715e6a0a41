import type { Kafka } from 'kafkajs';
import { KafkajsConsumerPort } from '../../../../lib/kafka/kafkajs/consumer';
import type { Consumer } from '../../../../lib/kafka/port';

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
});
