/**
 * After a failed request the edge's and the worker's producers start over with a new
 * producer id, so a later batch cannot reuse the failed one's sequence numbers (which the
 * broker would take for a duplicate and acknowledge without writing).
 */
import type { Producer } from 'kafkajs';
import { BatchingProducer } from '../../../lib/kafka/batching-producer';
import { ResettableProducer } from '../../../lib/kafka/resettable-producer';
import { FakeBroker, silentLogger } from '../../support/fakes';

describe('producer reset after a failure', () => {
  it('BatchingProducer resets its producer after a failed request, and only then', async () => {
    const broker = new FakeBroker();
    const batcher = new BatchingProducer({
      producer: broker,
      logger: silentLogger(),
      options: { lingerMs: 1 },
    });
    await batcher.send('raw', [{ key: 'a', partition: 0, value: 'x' }]);
    expect(broker.resets).toBe(0);
    broker.failWith = new Error('connection closed');
    await expect(batcher.send('raw', [{ key: 'b', partition: 0, value: 'y' }])).rejects.toThrow();
    await batcher.close();
    expect(broker.resets).toBe(1);
  });

  it('ResettableProducer swaps in a new producer and keeps the listeners', async () => {
    const made: {
      id: number;
      on: jest.Mock;
      connect: jest.Mock;
      disconnect: jest.Mock;
      sendBatch: jest.Mock;
    }[] = [];
    const make = (): Producer => {
      const p = {
        id: made.length,
        on: jest.fn(),
        connect: jest.fn(() => Promise.resolve()),
        disconnect: jest.fn(() => Promise.resolve()),
        sendBatch: jest.fn(() => Promise.resolve([])),
      };
      made.push(p);
      return p as unknown as Producer;
    };
    const producer = new ResettableProducer(make);
    producer.on('producer.connect', () => undefined);
    await producer.sendBatch({ topicMessages: [] });
    await producer.reset();
    await producer.sendBatch({ topicMessages: [] });
    expect(made).toHaveLength(2);
    expect(made[0]!.disconnect).toHaveBeenCalled();
    expect(made[1]!.connect).toHaveBeenCalled();
    expect(made[1]!.on).toHaveBeenCalledWith('producer.connect', expect.any(Function));
    expect(made[0]!.sendBatch).toHaveBeenCalledTimes(1);
    expect(made[1]!.sendBatch).toHaveBeenCalledTimes(1);
  });
});
