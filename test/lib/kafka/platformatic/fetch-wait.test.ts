/**
 * The @platformatic/kafka consumer keeps one fetch in flight per leader: while one of a
 * leader's partitions is being processed, the fetch of its idle others is a short poll, so
 * the busy one, once processed, is fetched again soon instead of after their long poll.
 */
import { FETCH_WAIT_MS, PlatformaticConsumer } from '../../../../lib/kafka/platformatic/consumer';
import { waitFor } from '../../../support/kafka-helpers';
import { answer, FakeClient } from '../../../support/platformatic-fakes';
import type { Answer, FetchRequest } from '../../../support/platformatic-fakes';

const asked = (r: FetchRequest): number[] =>
  r.topics.flatMap((t) => t.partitions.map((p) => p.partition));

/** Partition 0 has one record at offset 5, once; everything else waits out its poll empty. */
function answers(): (request: FetchRequest) => Promise<Map<number, Answer>> {
  let served = false;
  return async (request) => {
    if (!served && asked(request).includes(0)) {
      served = true;
      return new Map([[0, answer([{ offset: 5, producerId: 1, values: ['e'] }])]]);
    }
    await new Promise((r) => setTimeout(r, request.maxWaitTime));
    return new Map();
  };
}

describe('the @platformatic/kafka consumer polling idle partitions beside a busy one', () => {
  it('asks them with the short wait while the batch is processed, the long one before and after', async () => {
    const client = new FakeClient([0, 1], answers());
    class Consumer extends PlatformaticConsumer {
      protected override createClient(): never {
        return client as never;
      }
    }
    const consumer = new Consumer(
      { clientId: 'fetch-wait-test', brokers: ['127.0.0.1:1'] },
      {
        groupId: 'g',
      },
    );
    let release!: () => void;
    const processed = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const processing = new Promise<void>((r) => (started = r));
    await consumer.subscribe('t');
    await consumer.run({
      partitionsConsumedConcurrently: 2,
      eachBatch: async () => {
        started();
        await processed;
      },
    });
    await processing;
    const before = client.fetches.length;
    // Conditions, not durations: a loaded machine only makes the test slower.
    await waitFor(() => client.fetches.length >= before + 3, {
      timeoutMs: 10_000,
      intervalMs: 5,
      what: 'three fetches while the batch is processed',
    });
    const during = client.fetches.slice(before);
    release();
    const again = await waitFor(
      () => client.fetches.slice(before + during.length).find((r) => asked(r).includes(0)),
      { timeoutMs: 10_000, intervalMs: 5, what: 'partition 0 asked again' },
    );
    await consumer.disconnect();

    // The first fetch, nothing processed yet: both partitions, the long wait.
    expect(client.fetches[0]).toMatchObject({ maxWaitTime: FETCH_WAIT_MS.idle });
    expect(asked(client.fetches[0]!)).toEqual([0, 1]);
    // While partition 0's batch is processed: partition 1 alone, short polls.
    expect(during.length).toBeGreaterThan(0);
    for (const r of during) {
      expect(asked(r)).toEqual([1]);
      expect(r.maxWaitTime).toBe(FETCH_WAIT_MS.othersProcessing);
    }
    // Once it is processed: partition 0 is asked again, and nothing is processed: the long wait.
    expect(again.maxWaitTime).toBe(FETCH_WAIT_MS.idle);
  });
});
