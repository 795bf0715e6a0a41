/**
 * The usage report (lib/records/usage.ts): what each edge admitted per source.
 */
import { encodeUsage, parseUsage } from '../../../lib/records/usage';

describe('usage report', () => {
  const report = {
    edge: 'edge-1',
    since: '2026-01-01T00:00:00.000Z',
    at: '2026-01-01T00:00:05.000Z',
    day: '2026-01-01',
    sources: { shop: { total: 10, today: 12 }, web: { total: 0, today: 3 } },
  };

  it('reads back what an edge writes', () => {
    expect(parseUsage(Buffer.from(encodeUsage(report)))).toEqual(report);
  });

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['no edge', JSON.stringify({ ...report, edge: undefined })],
    ['a start that is no time', JSON.stringify({ ...report, since: 'yesterday' })],
    ['a day that is no day', JSON.stringify({ ...report, day: '2026-1-1' })],
    ['a negative count', JSON.stringify({ ...report, sources: { shop: { total: -1, today: 0 } } })],
    [
      'a count that is no integer',
      JSON.stringify({ ...report, sources: { shop: { total: 1.5, today: 0 } } }),
    ],
    ['a source without counts', JSON.stringify({ ...report, sources: { shop: null } })],
    ['a list for sources', JSON.stringify({ ...report, sources: [] })],
  ])('refuses %s', (_, value) => {
    expect(() => parseUsage(value)).toThrow(/not a usage report/);
  });
});
