/**
 * A connection asked for a broker the cluster's metadata does not hold (a coordinator or a
 * leader restarting) fails as an unreachable broker does, retriable, instead of throwing a
 * TypeError inside the client's callbacks (which ended the worker's process).
 */
import { translate } from '../../../../lib/kafka/platformatic/errors';
import { toBatch } from '../../../../lib/kafka/platformatic/consumer';
import { platformatic } from '../../../../lib/kafka/platformatic/load';

describe('the @platformatic/kafka loader', () => {
  const pool = (): InstanceType<ReturnType<typeof platformatic>['ConnectionPool']> =>
    new (platformatic().ConnectionPool)('guard-test', { connectTimeout: 100 });

  it('answers a call for an unknown broker with a retriable network error', () => {
    const errors: unknown[] = [];
    const p = pool();
    expect(() =>
      p.get(undefined as never, (error) => {
        errors.push(error);
      }),
    ).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(platformatic().NetworkError);
    const translated = translate(errors[0], 'committing the offsets failed');
    expect(translated.code).toBe('KAFKA_UNAVAILABLE');
    expect(translated.retriable).toBe(true);
  });

  it('rejects the promise form the same way', async () => {
    await expect(pool().get(undefined as never)).rejects.toBeInstanceOf(
      platformatic().NetworkError,
    );
  });

  it('still connects to a known broker (the call goes through)', async () => {
    // Nothing listens on port 1: the real pool tries, and fails to connect.
    const p = pool();
    await expect(p.get({ host: '127.0.0.1', port: 1 })).rejects.toBeInstanceOf(
      platformatic().NetworkError,
    );
    await p.close();
  });
});

/**
 * A `read_committed` fetch answer holding the abort marker of a transaction it does not
 * list (begun before the fetch offset): the package's own filter of aborted records threw
 * a TypeError inside its callbacks on it, which ended a worker. Through the client's real
 * `fetch` (its metadata, connection and API list stubbed, its filter and its Fetch API
 * real), then this adapter's `toBatch`.
 */
describe('the @platformatic/kafka loader: an abort marker the answer does not list', () => {
  const control = (producerId: bigint, firstOffset: bigint) => ({
    attributes: platformatic().IS_CONTROL | platformatic().IS_TRANSACTIONAL,
    producerId,
    firstOffset,
    lastOffsetDelta: 0,
    firstTimestamp: 0n,
    records: [
      {
        key: Buffer.from([0, 0, 0, 0]),
        value: null,
        headers: [],
        offsetDelta: 0,
        timestampDelta: 0n,
      },
    ],
  });
  const data = (producerId: bigint, firstOffset: bigint, value: string, transactional = true) => ({
    attributes: transactional ? platformatic().IS_TRANSACTIONAL : 0,
    producerId,
    firstOffset,
    lastOffsetDelta: 0,
    firstTimestamp: 0n,
    records: [
      { key: null, value: Buffer.from(value), headers: [], offsetDelta: 0, timestampDelta: 0n },
    ],
  });
  const topicId = '00000000-0000-0000-0000-000000000001';

  it('reads on: the unlisted marker drops nothing, the listed aborted transaction is dropped', async () => {
    const m = platformatic();
    const answer = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topicId,
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 8n,
              lastStableOffset: 8n,
              logStartOffset: 0n,
              // Producer 1's transaction began before offset 3, where this fetch starts.
              abortedTransactions: [{ producerId: 2n, firstOffset: 5n }],
              preferredReadReplica: -1,
              records: [
                control(1n, 3n),
                data(3n, 4n, 'kept-1', false),
                data(2n, 5n, 'aborted'),
                control(2n, 6n),
                data(3n, 7n, 'kept-2', false),
              ],
            },
          ],
        },
      ],
    };
    const consumer = new m.Consumer({
      clientId: 'abort-marker-test',
      bootstrapBrokers: ['127.0.0.1:1'],
      groupId: 'g',
    });
    const client = consumer as unknown as Record<symbol, unknown>;
    client[m.kMetadata] = (_o: unknown, cb: (e: null, md: unknown) => void) =>
      cb(null, { brokers: new Map([[1, { host: '127.0.0.1', port: 1 }]]), topics: new Map() });
    client[m.kListApis] = (cb: (e: null, apis: unknown) => void) =>
      cb(null, [{ name: 'Fetch', minVersion: 17, maxVersion: 17 }]);
    const connection = {
      send: (...args: unknown[]) => (args.at(-1) as (e: null, a: unknown) => void)(null, answer),
    };
    try {
      const response = await consumer.fetch({
        node: 1,
        connectionPool: {
          get: (_b: unknown, cb: (e: null, c: unknown) => void) => cb(null, connection),
        } as never,
        isolationLevel: m.FetchIsolationLevels.READ_COMMITTED,
        topics: [
          {
            topicId,
            partitions: [
              {
                partition: 0,
                fetchOffset: 3n,
                partitionMaxBytes: 1024,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              },
            ],
          },
        ],
      });
      const part = response.responses[0]!.partitions[0]!;
      const batch = toBatch({ topic: 't', partition: 0 }, 3n, part);
      expect(batch?.batch.messages.map((r) => r.value?.toString())).toEqual(['kept-1', 'kept-2']);
      expect(batch?.next).toBe(8n);
    } finally {
      await consumer.close();
    }
  });
});
