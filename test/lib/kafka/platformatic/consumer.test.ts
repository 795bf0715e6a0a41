/**
 * How the @platformatic/kafka consumer turns one partition's fetch answer into the port's
 * batch: records from the fetch offset on, no transaction markers, no record of an aborted
 * transaction (also one whose abort marker lies beyond the answer's end, which the
 * client's own filter lets through), and the answer's last offset, markers included.
 */
import { toBatch } from '../../../../lib/kafka/platformatic/consumer';
import { answer } from '../../../support/platformatic-fakes';
import type { Answer } from '../../../support/platformatic-fakes';
const COMMIT = 1;
const ABORT = 0;

const read = (from: number, a: Answer) => {
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
