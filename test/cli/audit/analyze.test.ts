/**
 * The audit's arithmetic on hand-made topic contents: lost, unprocessed (and where it sits),
 * duplicates and order violations are each found, and a clean run reports none.
 */
import { analyze, hasLoss, runsText } from '../../../services/cli/audit/analyze';
import type { RawRecord } from '../../../services/cli/audit/analyze';

const raw = (ids: string[], key = 'k'): RawRecord[] =>
  ids.map((id, i) => ({ id, key, partition: 0, offset: BigInt(i) }));
const down = (ids: string[], key = 'k') => ids.map((id) => ({ id, key }));

describe('analyze', () => {
  it('reports nothing for a clean run', () => {
    const r = analyze({
      raw: raw(['a', 'b']),
      processed: down(['a']),
      dlq: down(['b']),
      acked: ['a', 'b'],
    });
    expect(r).toMatchObject({ lost: [], unprocessed: [], duplicates: 0, orderViolations: [] });
    expect(hasLoss(r)).toBe(false);
  });

  it('finds acknowledged ids that never reached raw: a loss', () => {
    const r = analyze({ raw: raw(['a']), processed: down(['a']), dlq: [], acked: ['a', 'ghost'] });
    expect(r.lost).toEqual(['ghost']);
    expect(hasLoss(r)).toBe(true);
  });

  it('finds raw records not downstream, and which of them were acknowledged', () => {
    const r = analyze({
      raw: raw(['a', 'b', 'c']),
      processed: down(['a']),
      dlq: [],
      acked: ['a', 'b'],
    });
    expect(r.unprocessed).toEqual(['b', 'c']);
    expect(r.ackedUnprocessed).toEqual(['b']);
    expect(hasLoss(r)).toBe(true);
  });

  it('tells where the unprocessed records sit: runs of raw records, per partition', () => {
    const onPartition = (partition: number, ids: string[]): RawRecord[] =>
      raw(ids).map((r) => ({ ...r, partition, offset: r.offset + 100n }));
    const r = analyze({
      // read out of offset order, as a scan of several partitions may
      raw: [...onPartition(1, ['f', 'g']), ...onPartition(0, ['a', 'b', 'c', 'd', 'e']).reverse()],
      processed: down(['a', 'd', 'f']),
      dlq: [],
    });
    expect(r.unprocessedRuns).toEqual([
      { partition: 0, from: '101', to: '102', records: 2 },
      { partition: 0, from: '104', to: '104', records: 1 },
      { partition: 1, from: '101', to: '101', records: 1 },
    ]);
    expect(runsText(r.unprocessedRuns)).toBe('0: 101-102 (2), 0: 104-104 (1), 1: 101-101 (1)');
  });

  it('counts duplicates by id and ignores them for order', () => {
    const r = analyze({ raw: raw(['a', 'b']), processed: down(['a', 'b', 'a', 'b']), dlq: [] });
    expect(r.duplicates).toBe(2);
    expect(r.orderViolations).toEqual([]);
    expect(hasLoss(r)).toBe(false);
  });

  it('finds a key delivered out of raw order', () => {
    const r = analyze({
      raw: [...raw(['a', 'b']), ...raw(['x', 'y'], 'j')],
      processed: [...down(['b', 'a']), ...down(['x', 'y'], 'j')],
      dlq: [],
    });
    expect(r.orderViolations).toEqual(['k']);
  });
});
