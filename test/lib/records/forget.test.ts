/**
 * The forget record (lib/records/forget.ts): "forget this visitor", keyed `<source>/<key>`.
 */
import { encodeForget, forgetKey, parseForget } from '../../../lib/records/forget';

describe('forget record', () => {
  const record = { source: 'shop', key: 'visitor/42', at: '2026-01-01T00:00:00.000Z' };

  it('reads back what a writer encodes, under `<source>/<key>`', () => {
    expect(forgetKey('shop', 'visitor/42')).toBe('shop/visitor/42');
    expect(parseForget('shop/visitor/42', Buffer.from(encodeForget(record)))).toEqual(record);
  });

  it('is null for a tombstone: the key is no longer suppressed', () => {
    expect(parseForget('shop/v', null)).toBeNull();
  });

  it.each([
    ['not JSON', 'shop/visitor/42', '{'],
    ['null', 'shop/visitor/42', 'null'],
    ['an empty key', 'shop/', JSON.stringify({ ...record, key: '' })],
    ['no time', 'shop/visitor/42', JSON.stringify({ ...record, at: undefined })],
    ['a record under another key', 'web/visitor/42', encodeForget(record)],
  ])('refuses %s', (_, key, value) => {
    expect(() => parseForget(key, value)).toThrow(/forget record/);
  });
});
