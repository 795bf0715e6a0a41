/**
 * kafkajs' read_committed filter, mended (lib/kafka/kafkajs/read-committed.ts): on the
 * records of one fetch answer with aborted transactions interleaved, listed in the order
 * they ended, kafkajs' own filter lets an aborted record through and the mend does not.
 * The broker-level check is in transactions.integration.test.ts.
 */
import { createRequire } from 'node:module';
import { withoutAborted } from '../../../../lib/kafka/kafkajs/read-committed';
import type { DecodedRecord } from '../../../../lib/kafka/kafkajs/read-committed';

const kafkajsFilter = createRequire(require.resolve('kafkajs'))(
  './src/consumer/filterAbortedMessages',
) as (o: { messages: DecodedRecord[]; abortedTransactions: unknown[] }) => DecodedRecord[];

const record = (
  offset: number,
  producerId: string,
  value: string,
): DecodedRecord & { value: string } => ({
  offset: String(offset),
  key: null,
  value,
  isControlRecord: false,
  batchContext: { producerId, inTransaction: producerId !== 'plain' },
});
const marker = (
  offset: number,
  producerId: string,
  type: 0 | 1,
): DecodedRecord & { value: string } => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, type]),
  value: `marker-${producerId}`,
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

describe('withoutAborted (kafkajs read_committed, mended)', () => {
  // a: aborted (0, 2, 4; marker 5); b: aborted (1; marker 3), then committed (6; marker 7).
  const records = [
    record(0, 'a', 'a-1'),
    record(1, 'b', 'b-1'),
    record(2, 'a', 'a-2'),
    marker(3, 'b', 0),
    record(4, 'a', 'a-3'),
    marker(5, 'a', 0),
    record(6, 'b', 'b-committed'),
    marker(7, 'b', 1),
    record(8, 'plain', 'plain'),
  ];
  // In the order the transactions ended, as the broker lists them.
  const aborted = [
    { producerId: 'b', firstOffset: '1' },
    { producerId: 'a', firstOffset: '0' },
  ];
  const values = (rs: DecodedRecord[]): string[] =>
    rs.filter((r) => !r.isControlRecord).map((r) => (r as unknown as { value: string }).value);

  it("drops every aborted record; kafkajs' own filter lets one through", () => {
    expect(values(withoutAborted(records, aborted))).toEqual(['b-committed', 'plain']);
    expect(values(kafkajsFilter({ messages: records, abortedTransactions: aborted }))).toContain(
      'a-1',
    );
  });

  it('counts every transaction begun before the first record of the answer', () => {
    // The answer starts at offset 2: a and b both began before it.
    const fromTwo = records.slice(2);
    expect(values(withoutAborted(fromTwo, aborted))).toEqual(['b-committed', 'plain']);
  });

  it('keeps the records of a legacy message set (no batch context, no transactions)', () => {
    const legacy = { offset: '9', key: null, isControlRecord: false, value: 'legacy' };
    expect(values(withoutAborted([...records, legacy], aborted))).toEqual([
      'b-committed',
      'plain',
      'legacy',
    ]);
  });

  it('keeps the control records (the consumer moves past them)', () => {
    expect(withoutAborted(records, aborted).filter((r) => r.isControlRecord)).toHaveLength(3);
  });
});
