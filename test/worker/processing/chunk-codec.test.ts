import fc from 'fast-check';
import type { ConsumedRecord } from '../../../lib/kafka/port';
import type { BatchOutcome } from '../../../services/worker/consumer/process-batch';
import {
  packOutcome,
  packRecords,
  unpackOutcome,
  unpackRecords,
} from '../../../services/worker/processing/chunk-codec';
import type { OutboundRecord } from '../../../services/worker/outbound/record';

const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const consumed: fc.Arbitrary<ConsumedRecord> = fc.record({
  offset: fc.bigInt({ min: 0n, max: 1n << 62n }).map(String),
  timestamp: fc.nat().map(String),
  key: fc.option(bytes, { nil: null }),
  value: fc.option(bytes, { nil: null }),
  headers: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.option(bytes, { nil: undefined }),
  ),
});

/** A buffer from Node's shared pool: posting it as it is would copy the whole slab. */
const pooled = (text: string): Buffer => Buffer.from(text);

describe('chunk codec', () => {
  it('gives back every raw record as it was: null keys and values, absent and empty headers', () => {
    fc.assert(
      fc.property(fc.array(consumed, { maxLength: 20 }), (messages) => {
        const packed = packRecords(messages);
        const back = unpackRecords(packed);
        expect(back.map((m) => ({ ...m, headers: { ...m.headers } }))).toEqual(messages);
      }),
    );
  });

  it('transfers the records bytes only, not the buffers they are views of', () => {
    const messages = [
      {
        offset: '7',
        timestamp: '1',
        key: pooled('k'),
        value: pooled('{"a":1}'),
        headers: { h: pooled('v') },
      },
    ];
    expect(messages[0]!.value.buffer.byteLength).toBeGreaterThan(100);
    expect(packRecords(messages).bytes.byteLength).toBe(1 + 7 + 1);
  });

  it('gives back the outbound records with their values, counts and typed fields', () => {
    const record = (i: number, kind: OutboundRecord['outcome']): OutboundRecord => ({
      topic: i % 2 ? 'out' : 'dead',
      partition: i,
      key: `k${i}`,
      value: pooled(`{"n":${i}}`),
      headers: { 'intake-id': `e${i}` },
      id: `e${i}`,
      source: { partition: 3, offset: String(100 + i) },
      outcome: kind,
      ...(i === 1 ? { replyTo: 'edge-1' } : {}),
    });
    const outcome: BatchOutcome = {
      records: [
        record(0, { kind: 'processed' }),
        record(1, { kind: 'dlq', reason: 'bad', step: 'validate' }),
        record(2, { kind: 'side' }),
      ],
      processed: 1,
      dlq: 1,
      dropped: 2,
      duplicates: 3,
      ids: [{ id: 'e0', at: 5 }],
    };
    const packed = packOutcome(outcome);
    expect(packed.bytes.byteLength).toBe(7 + 7 + 7);
    const back = unpackOutcome(structuredClone(packed));
    const { ids: _ids, ...rest } = outcome;
    expect(back).toEqual(rest);
    expect(back.records.map((r) => r.value.toString())).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
  });
});
