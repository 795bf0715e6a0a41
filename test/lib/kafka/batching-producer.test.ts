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
      b.topicMessages.flatMap((t) => t.messages.map((m) => m.key)),
    );
    expect(sent).toEqual(Array.from({ length: 50 }, (_, i) => `same-${i}`));
    expect(broker.requests.length).toBeGreaterThan(1);
  });

  it('reports the bytes queued for the next request, and each time the queue is taken', async () => {
    const broker = new FakeBroker();
    broker.autoAck = false;
    let dequeues = 0;
    const p = new BatchingProducer({
      producer: broker,
      logger: silentLogger(),
      options: { lingerMs: 1 },
      onDequeue: () => {
        dequeues += 1;
      },
    });
    const first = p.send('raw', [record('a', 0, 100)]);
    expect(p.queuedBytes).toBeGreaterThan(100);
    await new Promise((r) => setTimeout(r, 10)); // the linger ends: the request takes the queue
    expect([p.queuedBytes, dequeues]).toEqual([0, 1]);
    // While it is in flight, later sends stay queued until it is acknowledged.
    const second = p.send('raw', [record('b', 0, 100)]);
    await new Promise((r) => setTimeout(r, 10));
    expect(p.queuedBytes).toBeGreaterThan(100);
    expect(dequeues).toBe(1);
    broker.autoAck = true;
    broker.release();
    await Promise.all([first, second]);
    expect([p.queuedBytes, dequeues]).toEqual([0, 2]);
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

  it("derives OVERLOADED's Retry-After from the measured drain rate: backlog / acked bytes per second", async () => {
    // One record is 1 (key) + 935 (value) + 64 (overhead) = 1000 bytes.
    const thousand = (key: string): PartitionedRecord => record(key, 0, 935);
    const broker = new FakeBroker();
    const p = producer(broker, { maxInFlightBytes: 4500 });
    await p.send('raw', [thousand('a')]); // 1000 bytes acknowledged in the 10 s window: 100 B/s
    broker.autoAck = false;
    const backlog = [p.send('raw', [thousand('b')]), p.send('raw', [thousand('c')])];
    expect(p.inFlightBytes).toBe(2000);
    const err = await p
      .send('raw', [thousand('d'), thousand('e'), thousand('f')])
      .catch((e: unknown) => e);
    expect((err as IntakeError).code).toBe('OVERLOADED');
    expect((err as IntakeError).retryAfterSeconds).toBe(20); // 2000 bytes at 100 B/s
    backlog.push(p.send('raw', [thousand('g'), thousand('h')]));
    expect(p.inFlightBytes).toBe(4000);
    expect(p.retryAfterSeconds()).toBe(40);
    // Acks older than the window no longer count: without a measured rate, the fallback.
    expect(p.retryAfterSeconds(Date.now() + 11_000)).toBe(5);
    while (broker.requests.length < 2) await new Promise((r) => setTimeout(r, 1));
    broker.autoAck = true;
    broker.release();
    await Promise.all(backlog);
    expect(p.inFlightBytes).toBe(0);
  });

  it('caps a measured Retry-After at 60 s and never answers below 1 s', async () => {
    const broker = new FakeBroker();
    const p = producer(broker, { maxInFlightBytes: 10 * 1000 * 1000 });
    await p.send('raw', [record('a', 0, 935)]); // 100 B/s
    broker.autoAck = false;
    const slow = p.send('raw', [record('b', 0, 9935)]); // 10000 bytes: 100 s at 100 B/s
    expect(p.retryAfterSeconds()).toBe(60);
    while (broker.requests.length < 2) await new Promise((r) => setTimeout(r, 1));
    broker.autoAck = true;
    broker.release();
    await slow; // 11000 bytes acked: 1100 B/s, and nothing in flight
    const tiny = p.send('raw', [record('c', 0, 35)]); // 100 bytes: 0.09 s
    expect(p.retryAfterSeconds()).toBe(1);
    await tiny;
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

  describe('with lanes (one producer per lane, partition modulo the lane count)', () => {
    function laned(brokers: FakeBroker[], options: Partial<BatchingProducerOptions> = {}) {
      return new BatchingProducer({
        producer: brokers,
        logger: silentLogger(),
        options: { lingerMs: 1, ...options },
      });
    }
    const keysOf = (broker: FakeBroker): (string | Buffer | null | undefined)[] =>
      broker.requests.flatMap((b) => b.topicMessages.flatMap((t) => t.messages.map((m) => m.key)));
    const partitionsOf = (broker: FakeBroker): Set<number> =>
      new Set(
        broker.requests.flatMap((b) =>
          b.topicMessages.flatMap((t) => t.messages.map((m) => m.partition!)),
        ),
      );

    it('sends each partition through one lane and answers a call in its own record order', async () => {
      const brokers = [new FakeBroker(), new FakeBroker(), new FakeBroker()];
      const p = laned(brokers);
      const records = Array.from({ length: 12 }, (_, i) => record(`k${i}`, i % 6));
      const positions = await p.send('raw', records);
      expect(positions.map((pos) => pos.partition)).toEqual(records.map((r) => r.partition));
      expect(positions.every((pos) => pos.offset === '0' || pos.offset === '1')).toBe(true);
      expect(brokers.map(partitionsOf)).toEqual([
        new Set([0, 3]),
        new Set([1, 4]),
        new Set([2, 5]),
      ]);
      expect(p.inFlightBytes).toBe(0);
    });

    it('keeps one request in flight per lane while other lanes go on', async () => {
      const [slow, fast] = [new FakeBroker(), new FakeBroker()];
      slow.autoAck = false;
      const p = laned([slow, fast], { maxBatchBytes: 200 });
      const onSlow = Array.from({ length: 5 }, (_, i) => p.send('raw', [record(`s${i}`, 0, 100)]));
      const onFast = await Promise.all(
        Array.from({ length: 5 }, (_, i) => p.send('raw', [record(`f${i}`, 1, 100)])),
      );
      expect(onFast.flat().map((pos) => pos.offset)).toEqual(['0', '1', '2', '3', '4']);
      expect(slow.requests).toHaveLength(1); // the rest wait behind it, in order
      while (slow.requests.length < 5) {
        slow.release();
        await new Promise((r) => setTimeout(r, 2));
      }
      slow.release();
      await Promise.all(onSlow);
      expect(keysOf(slow)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    });

    it('fails a call when one of its lanes fails, and takes its unsent parts out of the other lanes', async () => {
      const [bad, busy] = [new FakeBroker(), new FakeBroker()];
      bad.failWith = Object.assign(new Error('broker gone'), { name: 'KafkaJSConnectionError' });
      busy.autoAck = false;
      const p = laned([bad, busy]);
      const blocker = p.send('raw', [record('first', 1)]); // keeps lane 1 busy
      while (busy.requests.length === 0) await new Promise((r) => setTimeout(r, 1));
      const err = await p
        .send('raw', [record('a', 0), record('b', 1)])
        .catch((e: unknown) => e as IntakeError);
      expect(err).toMatchObject({ retriable: true });
      busy.release();
      await blocker;
      await new Promise((r) => setTimeout(r, 5));
      expect(keysOf(busy)).toEqual(['first']); // 'b' was never sent
      expect(bad.resets).toBe(1);
      expect(p.inFlightBytes).toBe(0);
    });

    it('bounds the bytes of all lanes together', async () => {
      const brokers = [new FakeBroker(), new FakeBroker()];
      for (const b of brokers) b.autoAck = false;
      const p = laned(brokers, { maxInFlightBytes: 500 });
      const first = p.send('raw', [record('a', 0, 300)]);
      await expect(p.send('raw', [record('b', 1, 300)])).rejects.toMatchObject({
        code: 'OVERLOADED',
      });
      while (brokers[0]!.requests.length === 0) await new Promise((r) => setTimeout(r, 1));
      brokers[0]!.release();
      await first;
    });

    it('close() drains every lane', async () => {
      const brokers = [new FakeBroker(), new FakeBroker()];
      const p = laned(brokers, { lingerMs: 1000 });
      const pending = p.send('raw', [record('a', 0), record('b', 1)]);
      await p.close();
      await expect(pending).resolves.toHaveLength(2);
      expect(brokers.map((b) => b.recordCount)).toEqual([1, 1]);
    });
  });
});
