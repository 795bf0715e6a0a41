/**
 * The seam between a catch-up from Kafka and the live fan-out, with fakes: a real
 * TopicFanout over a fake consumer, and a fake reader the test drives. Whatever the order
 * in which live fetches and catch-up fetches arrive, and however far the ring moved
 * meanwhile, the subscriber gets every record after its position once, in partition
 * order. Also: pausing for a slow reader, cancelling, and a reader failure.
 */
import fc from 'fast-check';
import type { ConsumedRecord } from '../../../lib/kafka/port';
import type { ReadHandlers } from '../../../lib/kafka/offset-reader';
import { CatchUp } from '../../../services/edge/subscribe/catch-up';
import type { CatchUpDeps } from '../../../services/edge/subscribe/catch-up';
import { TopicFanout, formatPosition } from '../../../services/edge/subscribe/fanout';
import type { FanoutRecord } from '../../../services/edge/subscribe/fanout';
import { Subscription } from '../../../services/edge/subscribe/subscription';
import type { EndReason } from '../../../services/edge/subscribe/subscription';
import { FakeKafka, silentLogger } from '../../support/fakes';
import type { FakeConsumer } from '../../support/fakes';

const TOPIC = 'processed';

/** A value for the record at `offset` of `partition`. */
const valueOf = (partition: number, offset: number): Buffer =>
  Buffer.from(JSON.stringify({ type: 't', p: partition, o: offset }));

/** A fan-out started at `starts` (its ring begins there), with its fake consumer. */
async function startedFanout(
  starts: number[],
  ringSize: number,
): Promise<{ fanout: TopicFanout; live: FakeConsumer }> {
  const fake = new FakeKafka();
  fake.autoServe = false;
  fake.offsets = starts.map((high, partition) => ({ partition, low: '0', high: String(high) }));
  const fanout = new TopicFanout({
    kafka: fake.kafka,
    topic: TOPIC,
    logger: silentLogger(),
    ringSize,
  });
  const running = fake.nextRun();
  const ready = fanout.ready();
  const live = await running;
  live.join();
  await ready;
  return { fanout, live };
}

/** Hands the fan-out's consumer one fetch: the records at `offsets` of `partition`. */
async function liveFetch(live: FakeConsumer, partition: number, offsets: number[]): Promise<void> {
  const messages: ConsumedRecord[] = offsets.map((o) => ({
    key: null,
    value: valueOf(partition, o),
    offset: String(o),
    timestamp: '0',
    headers: {},
  }));
  await live.runConfig!.eachBatch({ batch: { topic: TOPIC, partition, messages } } as never);
}

/** A client: what it was sent (partition/offset) and how it was ended. */
class Client {
  readonly got: { partition: number; offset: number; id: string }[] = [];
  ended: EndReason | null = null;
  bytes = 0;

  transport = {
    send: (id: string, record: FanoutRecord): void => {
      this.got.push({ partition: record.partition, offset: Number(record.offset), id });
    },
    buffered: (): number => this.bytes,
    end: (reason: EndReason): void => {
      this.ended = reason;
    },
  };

  offsets(partition: number): number[] {
    return this.got.filter((g) => g.partition === partition).map((g) => g.offset);
  }
}

/** A reader the test drives: the handlers the catch-up gave it, and whether it stopped. */
class FakeReader {
  handlers: ReadHandlers | null = null;
  from: ReadonlyMap<number, bigint> | null = null;
  stopped = 0;
  opened = 0;
  failOpen: Error | null = null;

  open = (from: ReadonlyMap<number, bigint>, handlers: ReadHandlers) => {
    this.opened += 1;
    if (this.failOpen) return Promise.reject(this.failOpen);
    this.from = from;
    this.handlers = handlers;
    return Promise.resolve({
      stop: () => {
        this.stopped += 1;
        return Promise.resolve();
      },
    });
  };

  /** One fetch of `partition` over [first, end): its records, then how far it reached. */
  async fetch(partition: number, offsets: number[], end: number): Promise<void> {
    const h = this.handlers!;
    if (offsets.length > 0) {
      const records = offsets.map((o) => ({
        partition,
        offset: BigInt(o),
        key: null,
        value: valueOf(partition, o),
      }));
      await h.records(partition, records, () => Promise.resolve());
    }
    h.reached(partition, BigInt(end));
  }
}

function catchUpFor(
  fanout: TopicFanout,
  client: Client,
  reader: FakeReader,
  from: Map<number, bigint>,
  options: Partial<CatchUpDeps> = {},
): { catchUp: CatchUp; sub: Subscription; done: () => number } {
  let done = 0;
  const sub = new Subscription(
    client.transport,
    { keys: null, types: null },
    new Map(from),
    1024 * 1024,
    () => undefined,
  );
  const catchUp = new CatchUp({
    feed: fanout,
    open: reader.open,
    subscription: sub,
    joinBytes: 1e9,
    pauseBytes: 1e9,
    stallMs: 60_000,
    pollMs: 1,
    logger: silentLogger(),
    onSlow: () => undefined,
    done: () => (done += 1),
    ...options,
  });
  return { catchUp, sub, done: () => done };
}

const range = (a: number, b: number): number[] =>
  Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

describe('catch-up from Kafka, joining the live fan-out', () => {
  it('delivers every record after the position once when the ring moved past it during the catch-up', async () => {
    // The edge started when both partitions ended at 10; its ring keeps 4 records.
    const { fanout, live } = await startedFanout([10, 10], 4);
    const client = new Client();
    const reader = new FakeReader();
    const from = new Map([
      [0, 4n],
      [1, 6n],
    ]);
    const { catchUp, done } = catchUpFor(fanout, client, reader, from);
    await catchUp.start();
    expect(reader.from).toEqual(from);

    await liveFetch(live, 0, [10, 11, 12, 13]);
    await liveFetch(live, 1, [10, 11]); // evicts 0:10 and 0:11 from the ring
    await reader.fetch(0, range(4, 10), 10);
    expect(catchUp.state).toBe('reading'); // 0:10 and 0:11 are only in Kafka now
    await reader.fetch(0, [10, 11], 12);
    expect(catchUp.state).toBe('reading'); // partition 1 is still behind the ring
    await reader.fetch(1, range(6, 10), 10);
    expect(catchUp.state).toBe('joined');
    expect(reader.stopped).toBe(1);
    // A fetch that was in flight when the reader stopped, then the live feed goes on.
    await reader.fetch(1, [10, 11], 12);
    await liveFetch(live, 0, [14]);
    await liveFetch(live, 1, [12]);

    expect(client.offsets(0)).toEqual(range(4, 15));
    expect(client.offsets(1)).toEqual(range(6, 13));
    expect(client.got.at(-1)!.id).toBe(
      formatPosition(
        new Map([
          [0, 15n],
          [1, 13n],
        ]),
      ),
    );
    expect(done()).toBe(1);
    expect(client.ended).toBeNull();
  });

  it('moves past offsets without records (commit markers) to reach the ring', async () => {
    const { fanout, live } = await startedFanout([8], 10);
    const client = new Client();
    const reader = new FakeReader();
    const { catchUp } = catchUpFor(fanout, client, reader, new Map([[0, 3n]]));
    await catchUp.start();
    await reader.fetch(0, [3, 4, 5], 7); // 6 is a commit marker
    expect(catchUp.state).toBe('reading');
    await reader.fetch(0, [], 8); // a fetch of a marker only
    expect(catchUp.state).toBe('joined');
    await liveFetch(live, 0, [9, 10]);
    expect(client.offsets(0)).toEqual([3, 4, 5, 9, 10]);
  });

  it('has no gap and no duplicate whatever the order of live and catch-up fetches (property)', async () => {
    const partitionArb = fc.record({
      /** Offsets in [0, end) that hold no record (commit markers). */
      markers: fc.array(fc.boolean(), { minLength: 0, maxLength: 25 }),
      start: fc.nat(25),
      from: fc.nat(25),
      liveChunks: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 10, maxLength: 10 }),
      readChunks: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 10, maxLength: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(partitionArb, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 40, 1e9),
        fc.array(fc.nat(5), { maxLength: 60 }),
        async (partitions, ringSize, joinBytes, order) => {
          const ends = partitions.map((p) => p.markers.length);
          const starts = partitions.map((p, i) => Math.min(p.start, ends[i]!));
          const from = new Map(partitions.map((p, i) => [i, BigInt(Math.min(p.from, ends[i]!))]));
          const records = partitions.map((p) =>
            range(0, p.markers.length).filter((o) => !p.markers[o]),
          );
          const { fanout, live } = await startedFanout(starts, ringSize);
          const client = new Client();
          const reader = new FakeReader();
          const { catchUp, done } = catchUpFor(fanout, client, reader, from, { joinBytes });
          await catchUp.start();

          // Each partition's fetches, live (from the fan-out's start) and catch-up (from
          // the position), as closures consumed in the generated order.
          const queue = (
            first: number,
            end: number,
            chunks: number[],
            p: number,
            isLive: boolean,
          ) => {
            const steps: (() => Promise<void>)[] = [];
            let at = first;
            for (let c = 0; at < end; c++) {
              const next = Math.min(end, at + (chunks[c % chunks.length] ?? 1));
              const offsets = records[p]!.filter((o) => o >= at && o < next);
              steps.push(() =>
                isLive
                  ? offsets.length > 0
                    ? liveFetch(live, p, offsets)
                    : Promise.resolve()
                  : reader.handlers
                    ? reader.fetch(p, offsets, next)
                    : Promise.resolve(),
              );
              at = next;
            }
            return steps;
          };
          const queues = partitions.flatMap((p, i) => [
            queue(starts[i]!, ends[i]!, p.liveChunks, i, true),
            queue(Number(from.get(i)), ends[i]!, p.readChunks, i, false),
          ]);
          for (const pick of order) {
            const q = queues[pick % queues.length]!;
            await q.shift()?.();
          }
          for (const q of queues) while (q.length > 0) await q.shift()!();

          for (let p = 0; p < partitions.length; p++) {
            expect(client.offsets(p)).toEqual(records[p]!.filter((o) => o >= Number(from.get(p))));
          }
          expect(catchUp.state).toBe('joined');
          expect(done()).toBe(1);
          expect(client.ended).toBeNull();
        },
      ),
      { numRuns: 300, seed: 20261130 },
    );
  });

  it('pauses while the client has too much unsent, and drops one that stops reading', async () => {
    const { fanout } = await startedFanout([100], 10);
    const client = new Client();
    const reader = new FakeReader();
    const paced = catchUpFor(fanout, client, reader, new Map([[0, 0n]]), { pauseBytes: 100 });
    await paced.catchUp.start();
    client.bytes = 500; // over the pause mark: nothing more is written until it reads
    const fetching = reader.fetch(0, [0, 1, 2], 3);
    await new Promise((r) => setTimeout(r, 5));
    expect(client.got).toEqual([]);
    client.bytes = 0; // it read
    await fetching;
    expect(client.offsets(0)).toEqual([0, 1, 2]);
    expect(paced.catchUp.state).toBe('reading');

    const stuck = new Client();
    const stuckReader = new FakeReader();
    let slow = 0;
    const dropped = catchUpFor(fanout, stuck, stuckReader, new Map([[0, 0n]]), {
      pauseBytes: 100,
      stallMs: 20,
      onSlow: () => (slow += 1),
    });
    await dropped.catchUp.start();
    stuck.bytes = 500; // it never reads
    await stuckReader.fetch(0, [0, 1], 2);
    expect(stuck.got).toEqual([]);
    expect(stuck.ended).toBe('slow-consumer');
    expect(slow).toBe(1);
    expect(dropped.catchUp.state).toBe('ended');
    expect(stuckReader.stopped).toBe(1);
    expect(dropped.done()).toBe(1);
  });

  it('stops reading when the client goes, and ends with resume-failed when the reader fails', async () => {
    const { fanout } = await startedFanout([50], 10);
    const gone = new Client();
    const reader = new FakeReader();
    const first = catchUpFor(fanout, gone, reader, new Map([[0, 0n]]));
    await first.catchUp.start();
    await first.catchUp.cancel();
    await reader.fetch(0, [0, 1], 2);
    expect(gone.got).toEqual([]);
    expect(reader.stopped).toBe(1);
    expect(first.done()).toBe(1);

    const failing = new Client();
    const second = catchUpFor(fanout, failing, reader, new Map([[0, 0n]]));
    await second.catchUp.start();
    reader.handlers!.failed(new Error('crash'));
    expect(failing.ended).toBe('resume-failed');
    expect(second.done()).toBe(1);

    const unopened = new Client();
    const broken = new FakeReader();
    broken.failOpen = new Error('no broker');
    const third = catchUpFor(fanout, unopened, broken, new Map([[0, 0n]]));
    await third.catchUp.start();
    expect(unopened.ended).toBe('resume-failed');
    expect(third.done()).toBe(1);
  });

  it('joins at once, without a reader, when the ring already reaches the position', async () => {
    const { fanout, live } = await startedFanout([5], 10);
    await liveFetch(live, 0, [5, 6, 7]);
    const client = new Client();
    const reader = new FakeReader();
    const { catchUp } = catchUpFor(fanout, client, reader, new Map([[0, 6n]]));
    await catchUp.start();
    expect(catchUp.state).toBe('joined');
    expect(reader.opened).toBe(0);
    expect(client.offsets(0)).toEqual([6, 7]);
  });
});
