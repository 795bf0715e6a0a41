/**
 * After a failed request the edge's producers start over with a new producer id
 * (each adapter's `reset()`, tested with the adapter), so a later batch cannot reuse the failed one's sequence numbers (which the
 * broker would take for a duplicate and acknowledge without writing).
 */
import { BatchingProducer } from '../../../lib/kafka/batching-producer';
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
});
