import { IntakeError } from '../../../../lib/errors';
import type { Admin, KafkaClient, Transaction } from '../../../../lib/kafka/port';
import { TransactionalDelivery } from '../../../../services/worker/delivery/hml/transactions';
import type { TransactionalDeliveryDeps } from '../../../../services/worker/delivery/hml/transactions';
import type { OutboundRecord } from '../../../../services/worker/outbound/record';
import { silentLogger } from '../../../support/fakes';

/** A gate a test opens (or fails) when it wants a held commit or offset read to end. */
class Gate {
  readonly done: Promise<void>;
  open: () => void = () => undefined;
  fail: (err: Error) => void = () => undefined;
  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.open = resolve;
      this.fail = reject;
    });
  }
}

/** Transactional producers whose commits wait on gates; records what happened, in order. */
class FakeTransactions {
  readonly events: string[] = [];
  /** Every request's records, by topic, in send order. */
  readonly sent: { topic: string; value: string }[][] = [];
  readonly gates: Gate[] = [];
  committed = 0n;
  nextCommitWaits = false;
  nextReadWaits = false;
  /** Aborts and closes that never answer (a client retrying against a restarting broker). */
  cleanupHangs = false;

  get kafka(): Pick<KafkaClient, 'transactionalProducer'> {
    return {
      transactionalProducer: ({ transactionalId }) => ({
        // Connecting fences every earlier producer of the id (the port's contract).
        connect: () => {
          this.events.push(`fence ${transactionalId}`);
          return Promise.resolve();
        },
        disconnect: () => {
          this.events.push(`disconnect ${transactionalId}`);
          return this.cleanupHangs ? new Promise<void>(() => undefined) : Promise.resolve();
        },
        begin: () => {
          this.events.push(`begin ${transactionalId}`);
          return Promise.resolve(this.transaction());
        },
      }),
    };
  }

  private transaction(): Transaction {
    return {
      sendBatch: ({ topicMessages }) => {
        this.sent.push(
          topicMessages.flatMap((t) =>
            t.messages.map((m) => ({ topic: t.topic, value: String(m.value) })),
          ),
        );
        return Promise.resolve(
          topicMessages.flatMap((t) =>
            [...new Set(t.messages.map((m) => m.partition ?? 0))].map((partition) => ({
              topic: t.topic,
              partition,
              baseOffset: '0',
            })),
          ),
        );
      },
      sendOffsets: ({ offset }) => {
        this.pendingOffset = BigInt(offset);
        return Promise.resolve();
      },
      commit: async () => {
        if (this.nextCommitWaits) {
          this.nextCommitWaits = false;
          await this.gate();
        }
        this.committed = this.pendingOffset;
        this.events.push(`commit ${this.committed}`);
      },
      abort: () => {
        this.events.push('abort');
        return this.cleanupHangs ? new Promise<void>(() => undefined) : Promise.resolve();
      },
    };
  }

  private pendingOffset = 0n;

  /** Waits on a new gate the test opens or fails. */
  private gate(): Promise<void> {
    const gate = new Gate();
    this.gates.push(gate);
    return gate.done;
  }

  get admin(): Pick<Admin, 'fetchOffsets'> {
    return {
      fetchOffsets: async () => {
        if (this.nextReadWaits) {
          this.nextReadWaits = false;
          await this.gate();
        }
        this.events.push(`read offset ${this.committed}`);
        return Promise.resolve([{ partition: 0, offset: String(this.committed) }]);
      },
    };
  }
}

const record = (offset: string): OutboundRecord => ({
  topic: 'out',
  partition: 0,
  key: 'k',
  value: Buffer.from('{}'),
  headers: {},
  id: `id-${offset}`,
  source: { partition: 0, offset },
  outcome: { kind: 'processed' },
});

/** A delivery of the fake's producers, assigned partition 0 (not claimed yet). */
function deliveryOf(
  fake: FakeTransactions,
  progress?: TransactionalDeliveryDeps['progress'],
  transactionTimeoutMs = 10_000,
): TransactionalDelivery {
  const d = new TransactionalDelivery({
    kafka: fake.kafka,
    admin: fake.admin,
    progress,
    groupId: 'g',
    rawTopic: 'raw',
    logger: silentLogger(),
    ackTimeoutMs: 1000,
    transactionTimeoutMs,
  });
  d.assigned([0]);
  return d;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TransactionalDelivery', () => {
  let fake: FakeTransactions;
  let d: TransactionalDelivery;

  // Every test starts with a delivery of a fresh fake, assigned partition 0 (not claimed yet).
  beforeEach(() => {
    fake = new FakeTransactions();
    d = deliveryOf(fake);
  });

  /** Commits the chunk of partition 0's input offsets `first` up to `next` (excluded). */
  const commitChunk = (first: number, next: number): Promise<boolean> =>
    d.commit(
      0,
      Array.from({ length: next - first }, (_, i) => record(String(first + i))),
      { first: String(first), next: String(next) },
    );

  it('commits records and the input offset together, then tells its listeners', async () => {
    const heard: string[] = [];
    d.onAcknowledged((records) => heard.push(...records.map((r) => r.source.offset)));
    expect(await commitChunk(0, 2)).toBe(true);
    expect(fake.committed).toBe(2n);
    expect(heard).toEqual(['0', '1']);
    expect(d.transactionalId(0)).toBe('g.raw.0');
  });

  it('abandons a chunk the committed offset already passed (a fenced zombie committed it)', async () => {
    fake.committed = 10n;
    expect(await d.claim(0)).toBe(10n);
    expect(await commitChunk(5, 6)).toBe(false);
    expect(fake.committed).toBe(10n);
  });

  it('abandons a chunk handed in again after it committed (no second transaction of it)', async () => {
    expect(await commitChunk(0, 2)).toBe(true);
    expect(await commitChunk(0, 2)).toBe(false);
    expect(fake.events.filter((e) => e.startsWith('commit'))).toEqual(['commit 2']);
    expect(await commitChunk(2, 3)).toBe(true);
  });

  it('gives up a transaction that does not end within the transaction timeout: the producer released, the next commit claims again', async () => {
    d = deliveryOf(fake, undefined, 50);
    await d.claim(0);
    fake.events.length = 0;
    fake.nextCommitWaits = true; // a client retrying a commit for minutes (a broker restarting)
    await expect(commitChunk(0, 1)).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      retriable: true,
    });
    expect(fake.events).toEqual(['begin g.raw.0', 'abort', 'disconnect g.raw.0']);
    // The lane is free: the retry fences (a new producer) and commits.
    expect(await commitChunk(0, 1)).toBe(true);
    expect(fake.events.slice(3)).toEqual([
      'fence g.raw.0',
      'read offset 0',
      'begin g.raw.0',
      'commit 1',
    ]);
  });

  it('bounds the abort and the close after a timed-out transaction by a few seconds, not by the transaction timeout again', async () => {
    jest.useFakeTimers();
    try {
      d = deliveryOf(fake, undefined, 60_000);
      await d.claim(0);
      fake.nextCommitWaits = true;
      fake.cleanupHangs = true;
      const outcome = commitChunk(0, 1).then(
        () => 'committed',
        (err: unknown) => (err as { code?: string }).code,
      );
      await jest.advanceTimersByTimeAsync(60_000); // the commit's bound
      await jest.advanceTimersByTimeAsync(10_000); // less than one more transaction timeout
      expect(fake.events.slice(-2)).toEqual(['abort', 'disconnect g.raw.0']);
      expect(await outcome).toBe('KAFKA_UNAVAILABLE');
    } finally {
      jest.useRealTimers();
    }
  });

  it('runs one transaction of a partition at a time', async () => {
    await d.claim(0); // fences
    fake.events.length = 0;
    fake.nextCommitWaits = true;
    const first = commitChunk(0, 1);
    const second = commitChunk(1, 2);
    await settle();
    expect(fake.events.filter((e) => e.startsWith('begin'))).toHaveLength(1);
    fake.gates[0]!.open();
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    expect(fake.events.filter((e) => e.startsWith('begin') || e.startsWith('commit'))).toEqual([
      'begin g.raw.0',
      'commit 1',
      'begin g.raw.0',
      'commit 2',
    ]);
  });

  it("in a new generation, claims only after the previous generation's transaction ended", async () => {
    await d.claim(0);
    fake.nextCommitWaits = true;
    const old = commitChunk(0, 1);
    await settle();
    d.assigned([0]); // a rebalance while that transaction is under way
    const claim = d.claim(0);
    await settle();
    expect(fake.events.filter((e) => e.startsWith('read offset'))).toEqual(['read offset 0']);
    fake.gates[0]!.open();
    expect(await old).toBe(true);
    // The offset the new generation starts from includes what the old transaction committed.
    expect(await claim).toBe(1n);
  });

  it("a late fencing error of an older generation's chunk does not fence the partition out now", async () => {
    await d.claim(0);
    fake.nextCommitWaits = true;
    const old = commitChunk(0, 1);
    await settle();
    d.assigned([0]);
    fake.gates[0]!.fail(
      new IntakeError('KAFKA_FENCED', 'Producer attempted an operation with an old epoch'),
    );
    expect(await old).toBe(false);
    expect(await d.claim(0)).toBe(0n);
    expect(await commitChunk(0, 1)).toBe(true);
  });

  it('a new generation fences again, also a partition this worker kept (another may have fenced it meanwhile)', async () => {
    await d.claim(0);
    fake.events.length = 0;
    d.assigned([0]);
    expect(await d.claim(0)).toBe(0n);
    expect(fake.events).toEqual(['disconnect g.raw.0', 'fence g.raw.0', 'read offset 0']);
  });

  it('abandons a chunk whose partition was revoked while it claimed it (its producer released)', async () => {
    fake.nextReadWaits = true;
    const chunk = commitChunk(0, 1);
    for (let i = 0; i < 5 && fake.gates.length === 0; i++) await settle();
    d.assigned([]);
    await settle();
    fake.gates[0]!.open();
    await expect(chunk).resolves.toBe(false);
    expect(fake.events).not.toContain('commit 1');
  });

  it('fenced in the current generation (a late zombie): rejects retriable, then claims back and commits', async () => {
    await d.claim(0);
    fake.nextCommitWaits = true;
    const chunk = commitChunk(0, 1);
    await settle();
    fake.gates[0]!.fail(new IntakeError('KAFKA_FENCED', 'fenced'));
    await expect(chunk).rejects.toMatchObject({ retriable: true });
    fake.events.length = 0;
    expect(await commitChunk(0, 1)).toBe(true);
    expect(fake.events).toEqual([
      'fence g.raw.0', // the claim: a new producer fences the zombie's
      'read offset 0',
      'begin g.raw.0',
      'commit 1',
    ]);
  });
});

describe("TransactionalDelivery with the partitions' progress records", () => {
  let fake: FakeTransactions;
  let recorded: bigint | undefined;
  let d: TransactionalDelivery;

  beforeEach(() => {
    fake = new FakeTransactions();
    recorded = undefined;
    d = deliveryOf(fake, {
      record: (partition, next) => ({
        topic: 'progress',
        partition: 0,
        key: `raw/${partition}`,
        value: Buffer.from(`next ${next}`),
      }),
      committedNext: () => Promise.resolve(recorded),
    });
  });

  const records = (first: number, next: number): OutboundRecord[] =>
    Array.from({ length: next - first }, (_, i) => record(String(first + i)));

  it('writes the progress record in the transaction, in a request of its own after the records', async () => {
    expect(await d.commit(0, records(0, 3), { first: '0', next: '3' })).toBe(true);
    expect(await d.commit(0, [], { first: '3', next: '5' })).toBe(true);
    expect(fake.sent).toEqual([
      [
        { topic: 'out', value: '{}' },
        { topic: 'out', value: '{}' },
        { topic: 'out', value: '{}' },
      ],
      [{ topic: 'progress', value: 'next 3' }],
      [{ topic: 'progress', value: 'next 5' }],
    ]);
    expect(fake.events.filter((e) => e.startsWith('commit'))).toEqual(['commit 3', 'commit 5']);
  });

  it("claims from the progress record when the group's committed offset is behind it (a broker answering stale offsets), and skips what is below", async () => {
    fake.committed = 4n; // what a restarted broker answered
    recorded = 9n; // what the last committed transaction wrote
    expect(await d.claim(0)).toBe(9n);
    // The chunk the stale offset points at was committed already: abandoned, not written twice.
    expect(await d.commit(0, records(4, 9), { first: '4', next: '9' })).toBe(false);
    expect(await d.commit(0, records(9, 11), { first: '9', next: '11' })).toBe(true);
    expect(fake.events.filter((e) => e.startsWith('commit'))).toEqual(['commit 11']);
  });

  it("claims from the group's committed offset when it is at or past the progress record, or there is none", async () => {
    fake.committed = 7n;
    recorded = 5n; // e.g. written by an SBML worker before the switch to HML
    expect(await d.claim(0)).toBe(7n);
    d.assigned([0]);
    recorded = undefined;
    expect(await d.claim(0)).toBe(7n);
  });
});
