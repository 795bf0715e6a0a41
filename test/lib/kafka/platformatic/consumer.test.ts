/**
 * How the @platformatic/kafka consumer turns one partition's fetch answer into the port's
 * batch: records from the fetch offset on, no transaction markers, no record of an aborted
 * transaction (also one whose abort marker lies beyond the answer's end, which the
 * client's own filter lets through), and the answer's last offset, markers included.
 */
import { toBatch } from '../../../../lib/kafka/platformatic/consumer';
import { platformatic } from '../../../../lib/kafka/platformatic/load';

const { IS_CONTROL, IS_TRANSACTIONAL } = platformatic();
const COMMIT = 1;
const ABORT = 0;

interface Entry {
  offset: number;
  producerId: number;
  /** A transaction marker of this type instead of records. */
  marker?: number;
  transactional?: boolean;
  values?: string[];
}

/** Record batches as the client decodes them. */
function batches(entries: Entry[]): Parameters<typeof toBatch>[2]['records'] {
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

const answer = (
  entries: Entry[],
  aborted: { producerId: number; firstOffset: number }[] = [],
): Parameters<typeof toBatch>[2] => ({
  highWatermark: 100n,
  abortedTransactions: aborted.map((a) => ({
    producerId: BigInt(a.producerId),
    firstOffset: BigInt(a.firstOffset),
  })),
  records: batches(entries),
});

const read = (from: number, a: Parameters<typeof toBatch>[2]) => {
  const result = toBatch({ topic: 't', partition: 3 }, BigInt(from), a);
  return {
    offsets: result?.batch.messages.map((m) => m.offset),
    lastOffset: result?.batch.lastOffset(),
    next: result?.next,
  };
};

describe('a fetch answer as the port batch (@platformatic/kafka)', () => {
  it('holds the records from the fetch offset on, with their keys, headers and timestamps', () => {
    const result = toBatch(
      { topic: 't', partition: 3 },
      5n,
      answer([{ offset: 4, producerId: 1, values: ['a', 'b', 'c'] }]),
    );
    expect(result?.batch).toMatchObject({ topic: 't', partition: 3, highWatermark: '100' });
    expect(result?.batch.messages).toEqual([
      {
        offset: '5',
        key: Buffer.from('k1'),
        value: Buffer.from('b'),
        headers: { h: Buffer.from('x') },
        timestamp: '1001',
      },
      {
        offset: '6',
        key: Buffer.from('k2'),
        value: Buffer.from('c'),
        headers: { h: Buffer.from('x') },
        timestamp: '1002',
      },
    ]);
    expect(result?.batch.lastOffset()).toBe('6');
    expect(result?.next).toBe(7n);
  });

  it('is nothing when the answer holds nothing; markers only move the position', () => {
    expect(toBatch({ topic: 't', partition: 0 }, 0n, answer([]))).toBeNull();
    expect(read(9, answer([{ offset: 9, producerId: 1, marker: COMMIT }]))).toEqual({
      offsets: [],
      lastOffset: '9',
      next: 10n,
    });
  });

  it('drops the records of an aborted transaction, keeps the committed ones around it', () => {
    const a = answer(
      [
        { offset: 0, producerId: 1, transactional: true },
        { offset: 1, producerId: 1, marker: COMMIT },
        { offset: 2, producerId: 1, transactional: true, values: ['x', 'y'] },
        { offset: 4, producerId: 2, values: ['plain'] },
        { offset: 5, producerId: 1, marker: ABORT },
        { offset: 6, producerId: 1, transactional: true },
        { offset: 7, producerId: 1, marker: COMMIT },
      ],
      [{ producerId: 1, firstOffset: 2 }],
    );
    expect(read(0, a)).toEqual({ offsets: ['0', '4', '6'], lastOffset: '7', next: 8n });
  });

  it('drops an aborted transaction whose abort marker is beyond the end of the answer', () => {
    // The client's own filter keeps these (it waits for the marker before it drops them).
    const a = answer(
      [
        { offset: 10, producerId: 7, transactional: true, values: ['aborted-1', 'aborted-2'] },
        { offset: 12, producerId: 8, values: ['plain'] },
      ],
      [{ producerId: 7, firstOffset: 10 }],
    );
    expect(read(10, a)).toEqual({ offsets: ['12'], lastOffset: '12', next: 13n });
  });
});
