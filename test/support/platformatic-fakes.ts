/**
 * Fakes of @platformatic/kafka for the adapter's unit tests: a client (group membership of
 * topic `t`, committed offsets at 5, one leader) and fetch answers as the client decodes
 * them. The integration suites run the real client.
 */
import { EventEmitter } from 'node:events';
import type { toBatch } from '../../lib/kafka/platformatic/consumer';
import { platformatic } from '../../lib/kafka/platformatic/load';

const { IS_CONTROL, IS_TRANSACTIONAL } = platformatic();

/** One fetch request as the adapter makes it (the fields the tests look at). */
export interface FetchRequest {
  maxWaitTime: number;
  topics: { topicId: string; partitions: { partition: number; fetchOffset: bigint }[] }[];
}

export type Answer = Parameters<typeof toBatch>[2];

export class FakeClient extends EventEmitter {
  /** Every client's joins fail (its coordinator gone, say). */
  static failJoins = false;
  memberId: string | null = null;
  generationId = 0;
  coordinatorId: number | null = 1;
  readonly groupId = 'g';
  readonly topics = { track: (_topic: string): void => undefined };
  joins = 0;
  readonly fetches: FetchRequest[] = [];
  closed = false;
  commitFailure: Error | null = null;

  /**
   * @param partitions of topic `t`, all assigned to this member, led by broker 1
   * @param answer what a fetch answers, per partition asked (default: a long poll that never
   *   answers, for tests about the group, not the records)
   */
  constructor(
    private readonly partitions: number[] = [0],
    private readonly answer?: (request: FetchRequest) => Promise<Map<number, Answer>>,
  ) {
    super();
  }

  /** The member id each join asked with (null: as a new member). */
  readonly joinedAs: (string | null)[] = [];
  /** The member id the client had when it closed (its close leaves the group as it). */
  closedAs: string | null | undefined = undefined;

  joinGroup(_options?: object, callback?: (error: Error | null) => void): Promise<string> {
    this.joins += 1;
    this.joinedAs.push(this.memberId);
    // A member known to the group keeps its id; a new one gets one.
    const memberId = this.memberId ?? `member-${this.joins}`;
    const joined = FakeClient.failJoins
      ? Promise.reject(new Error('joinGroup failed 6 times.'))
      : Promise.resolve(memberId);
    if (!FakeClient.failJoins) {
      this.memberId = memberId;
      this.generationId += 1;
      setImmediate(() =>
        this.emit('consumer:group:join', {
          assignments: [{ topic: 't', partitions: this.partitions }],
        }),
      );
    }
    if (callback) joined.then(() => callback(null), callback);
    return joined;
  }

  listCommittedOffsets(): Promise<Map<string, bigint[]>> {
    return Promise.resolve(new Map([['t', this.partitions.map(() => 5n)]]));
  }

  metadata(): Promise<unknown> {
    return Promise.resolve({
      topics: new Map([
        ['t', { id: 'id-t', partitions: this.partitions.map(() => ({ leader: 1 })) }],
      ]),
    });
  }

  async fetch(request: FetchRequest): Promise<unknown> {
    this.fetches.push(request);
    if (!this.answer) return new Promise(() => undefined);
    const answers = await this.answer(request);
    return {
      responses: [
        {
          topicId: 'id-t',
          partitions: [...answers].map(([partitionIndex, a]) => ({ partitionIndex, ...a })),
        },
      ],
    };
  }

  clearMetadata(): void {}

  /**
   * As 1.35's commit on a failure that asks for a rejoin (`commitFailure`): it joins the
   * group through its public `joinGroup`, then commits again, in the new generation.
   */
  commitRejoins = false;

  commit(): Promise<void> {
    if (this.commitFailure === null) return Promise.resolve();
    if (!this.commitRejoins) return Promise.reject(this.commitFailure);
    this.commitFailure = null;
    return new Promise((resolve, reject) => {
      void this.joinGroup({}, (error) => (error ? reject(error) : resolve(this.commit())));
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.closedAs = this.memberId;
    return Promise.resolve();
  }
}

export interface Entry {
  offset: number;
  producerId: number;
  /** A transaction marker of this type instead of records. */
  marker?: number;
  transactional?: boolean;
  values?: string[];
}

/** Record batches as the client decodes them. */
export function batches(entries: Entry[]): Answer['records'] {
  return entries.map((e) => {
    const n = e.marker === undefined ? (e.values?.length ?? 1) : 1;
    const key = Buffer.alloc(4);
    if (e.marker !== undefined) key.writeInt16BE(e.marker, 2);
    return {
      firstOffset: BigInt(e.offset),
      length: 0,
      partitionLeaderEpoch: 0,
      magic: 2,
      crc: 0,
      attributes:
        (e.marker !== undefined ? IS_CONTROL | IS_TRANSACTIONAL : 0) |
        (e.transactional ? IS_TRANSACTIONAL : 0),
      lastOffsetDelta: n - 1,
      firstTimestamp: 1000n,
      maxTimestamp: 1000n,
      producerId: BigInt(e.producerId),
      producerEpoch: 0,
      firstSequence: 0,
      records: Array.from({ length: n }, (_, i) => ({
        length: 0,
        attributes: 0,
        timestampDelta: BigInt(i),
        offsetDelta: i,
        key: e.marker === undefined ? Buffer.from(`k${i}`) : key,
        value: e.marker === undefined ? Buffer.from(e.values?.[i] ?? `v${e.offset + i}`) : null,
        headers: [[Buffer.from('h'), Buffer.from('x')]] as [Buffer | null, Buffer | null][],
      })),
    };
  });
}

export const answer = (
  entries: Entry[],
  aborted: { producerId: number; firstOffset: number }[] = [],
): Answer => ({
  highWatermark: 100n,
  abortedTransactions: aborted.map((a) => ({
    producerId: BigInt(a.producerId),
    firstOffset: BigInt(a.firstOffset),
  })),
  records: batches(entries),
});
