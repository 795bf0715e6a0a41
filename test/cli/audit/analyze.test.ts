/**
 * The audit's arithmetic on hand-made topic contents: lost, unprocessed, duplicates and
 * order violations are each found, and a clean run reports none.
 */
import { analyze, hasLoss } from '../../../services/cli/audit/analyze';
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
