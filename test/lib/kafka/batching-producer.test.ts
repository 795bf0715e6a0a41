import { IntakeError } from '../../../lib/errors';
import { BatchingProducer } from '../../../lib/kafka/batching-producer';
import type {
  BatchingProducerOptions,
  PartitionedRecord,
} from '../../../lib/kafka/batching-producer';
import { FakeBroker, silentLogger } from '../../support/fakes';

const record = (key: string, partition = 0, size = 10): PartitionedRecord => ({
  key,
  partition,
  value: 'x'.repeat(size),
});

function producer(
  broker: FakeBroker,
  options: Partial<BatchingProducerOptions> = {},
): BatchingProducer {
  return new BatchingProducer({
    producer: broker,
    logger: silentLogger(),
    options: { lingerMs: 1, ...options },
  });
}

describe('BatchingProducer', () => {
  it('coalesces concurrent sends into few requests and resolves each with its own offsets', async () => {
    const broker = new FakeBroker();
    const p = producer(broker);
    const sends = Array.from({ length: 100 }, (_, i) => p.send('raw', [record(`k${i}`, i % 3)]));
    const positions = await Promise.all(sends);
    expect(broker.recordCount).toBe(100);
    expect(broker.requests.length).toBeLessThanOrEqual(2);
    // Offsets are dense and unique per partition.
    for (const partition of [0, 1, 2]) {
      const offsets = positions
        .flat()
        .filter((pos) => pos.partition === partition)
        .map((pos) => Number(pos.offset));
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
  });

  it('keeps call order within a partition across requests', async () => {
    const broker = new FakeBroker();
    broker.autoAck = false;
    const p = producer(broker, { maxBatchBytes: 2000 });
    const sends = Array.from({ length: 50 }, (_, i) =>
      p.send('raw', [record(`same-${i}`, 0, 100)]),
    );
    await new Promise((r) => setTimeout(r, 5));
    broker.autoAck = true;
    broker.release();
    await Promise.all(sends);
    const sent = broker.requests.flatMap((b) =>
      b.topicMessages!.flatMap((t) => t.messages.map((m) => m.key)),
    );
    expect(sent).toEqual(Array.from({ length: 50 }, (_, i) => `same-${i}`));
    expect(broker.requests.length).toBeGreaterThan(1);
  });

  it('rejects with OVERLOADED and a Retry-After when the in-flight bound is reached', async () => {
    const broker = new FakeBroker();
    broker.autoAck = false;
    const p = producer(broker, { maxInFlightBytes: 500 });
    const first = p.send('raw', [record('a', 0, 300)]);
    const err = await p.send('raw', [record('b', 0, 300)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntakeError);
    expect((err as IntakeError).code).toBe('OVERLOADED');
    expect((err as IntakeError).retriable).toBe(true);
    expect((err as IntakeError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    while (broker.requests.length === 0) await new Promise((r) => setTimeout(r, 1));
    broker.release();
    await first;
    expect(p.inFlightBytes).toBe(0);
  });

  it('answers KAFKA_UNAVAILABLE when Kafka does not acknowledge in time, and never resolves later', async () => {
    const broker = new FakeBroker();
    broker.autoAck = false;
    const p = producer(broker, { ackTimeoutMs: 50 });
    const err = await p.send('raw', [record('a')]).catch((e: unknown) => e);
    expect((err as IntakeError).code).toBe('KAFKA_UNAVAILABLE');
    broker.release();
    await p.close();
  });

  it('rejects every send of a failed request with a retriable error', async () => {
    const broker = new FakeBroker();
    broker.failWith = Object.assign(new Error('broker gone'), { name: 'KafkaJSConnectionError' });
    const p = producer(broker);
    const results = await Promise.allSettled([
      p.send('raw', [record('a')]),
      p.send('raw', [record('b')]),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as IntakeError).retriable).toBe(true);
    }
    expect(p.stats().failedBatches).toBe(1);
  });

  it('close() sends what was accepted, then refuses new sends', async () => {
    const broker = new FakeBroker();
    const p = producer(broker, { lingerMs: 1000 });
    const pending = p.send('raw', [record('a')]);
    await p.close();
    await expect(pending).resolves.toHaveLength(1);
    await expect(p.send('raw', [record('b')])).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
