/**
 * The @platformatic/kafka consumer commits before it rejoins: when its heartbeat finds the
 * group rebalancing, the client's rejoin waits until the batches under way have ended
 * (their heartbeat refused meanwhile, no batch started, nothing fetched), and at most a
 * third of the shorter of the session and rebalance timeouts. The client is a fake; the
 * consumer's integration suite runs the real one (a member committing through another's
 * join).
 */
import type { BatchContext } from '../../../../lib/kafka/port';
import { PlatformaticConsumer, holdRejoins } from '../../../../lib/kafka/platformatic/consumer';
import { platformatic } from '../../../../lib/kafka/platformatic/load';
import { FakeClient, answer } from '../../../support/platformatic-fakes';
import type { FetchRequest } from '../../../support/platformatic-fakes';

let clients: FakeClient[] = [];

class Consumer extends PlatformaticConsumer {
  protected override createClient(): never {
    // Partitions 0 and 1 hold one record each, at offset 5 (their committed offset).
    const client = new FakeClient([0, 1], async (request: FetchRequest) => {
      const asked = request.topics[0]!.partitions.filter((p) => p.fetchOffset === 5n);
      if (asked.length === 0) await settle(10); // a long poll with nothing to answer
      return new Map(
        asked.map((p) => [p.partition, answer([{ offset: 5, producerId: 1, values: ['v'] }])]),
      );
    });
    clients.push(client);
    return client as never;
  }
}

const settle = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the @platformatic/kafka consumer: commit before rejoining', () => {
  beforeEach(() => {
    clients = [];
    FakeClient.failJoins = false;
  });

  async function running(sessionTimeoutMs = 30_000) {
    const consumer = new Consumer(
      { clientId: 'rejoin-test', brokers: ['127.0.0.1:1'] },
      { groupId: 'g', sessionTimeoutMs, rebalanceTimeoutMs: sessionTimeoutMs },
    );
    const crashes: Error[] = [];
    const started: number[] = [];
    const heartbeats: string[] = [];
    const gate = { open: (): void => undefined };
    const opened = new Promise<void>((resolve) => (gate.open = resolve));
    consumer.onCrash((err) => crashes.push(err));
    await consumer.subscribe('t');
    await consumer.run({
      manualResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload: BatchContext) => {
        started.push(payload.batch.partition);
        if (started.length > 1) return; // later batches: done at once
        await opened; // a chunk being handed off
        await consumer.commitOffsets([
          { topic: 't', partition: payload.batch.partition, offset: '6' },
        ]);
        payload.resolveOffset('5');
        await payload.heartbeat().then(
          () => heartbeats.push('accepted'),
          (err: { code?: string }) => heartbeats.push(err.code ?? 'error'),
        );
      },
    });
    await settle();
    return { consumer, crashes, started, heartbeats, gate };
  }

  it('holds the rejoin until the batch under way commits; its heartbeat is refused, no batch starts meanwhile', async () => {
    const { consumer, crashes, started, heartbeats, gate } = await running();
    const client = clients[0]!;
    expect(started).toHaveLength(1); // one at a time: the other partition's batch waits
    expect(client.joins).toBe(1);
    const fetches = client.fetches.length;
    client.heartbeatFindsRebalance();
    await settle(50);
    expect(client.joins).toBe(1); // held
    expect(started).toHaveLength(1); // the waiting batch did not start
    expect(client.fetches.length).toBe(fetches); // nothing fetched
    gate.open();
    await settle(50);
    expect(heartbeats).toEqual(['KAFKA_NOT_MEMBER']); // the batch ends after its commit
    expect(client.joins).toBe(2); // then the client rejoins
    expect(crashes).toEqual([]);
    // After the join, the partitions are fetched and processed again.
    await settle(50);
    expect(started.length).toBeGreaterThan(1);
    await consumer.disconnect();
  });

  it('rejoins at once when no batch is under way', async () => {
    const { consumer, gate } = await running();
    gate.open();
    await settle(50);
    const client = clients[0]!;
    const joins = client.joins;
    client.heartbeatFindsRebalance();
    await settle();
    expect(client.joins).toBe(joins + 1);
    await consumer.disconnect();
  });

  it('rejoins after a third of the session timeout when a batch does not end', async () => {
    const { consumer, gate } = await running(600);
    const client = clients[0]!;
    client.heartbeatFindsRebalance();
    await settle(100);
    expect(client.joins).toBe(1);
    await settle(250);
    expect(client.joins).toBe(2);
    gate.open();
    await consumer.disconnect();
  });

  it('finds the rejoin of the real client (a version without it fails here)', () => {
    const client = new (platformatic().Consumer)({
      clientId: 'rejoin-test',
      bootstrapBrokers: ['127.0.0.1:1'],
      groupId: 'g',
    });
    expect(holdRejoins(client, (rejoin) => rejoin())).toBe(true);
    expect(holdRejoins({}, (rejoin) => rejoin())).toBe(false);
    void client.close();
  });
});
