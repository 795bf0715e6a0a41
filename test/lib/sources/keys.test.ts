/**
 * Source keys (lib/sources/keys.ts): made, stored as hashes, found, rotated with a grace.
 */
import { validateSource } from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';
import {
  KEY_PREFIX,
  KeyIndex,
  hashKey,
  newHashKey,
  newKey,
  rotateKey,
} from '../../../lib/sources/keys';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const HOUR = 3_600_000;

function source(name: string, keys: SourceRecord['keys'], enabled = true): SourceRecord {
  const result = validateSource({
    name,
    enabled,
    keys,
    updatedAt: '2026-01-01T00:00:00.000Z',
    version: 1,
  });
  if (!result.ok) throw new Error(`${result.field} ${result.reason}`);
  return result.source;
}

describe('keys', () => {
  it('are prefixed, 32 random bytes, and stored as their SHA-256 in hex', () => {
    const keys = Array.from({ length: 100 }, newKey);
    expect(new Set(keys).size).toBe(100);
    for (const key of keys) {
      expect(key.startsWith(KEY_PREFIX)).toBe(true);
      expect(Buffer.from(key.slice(KEY_PREFIX.length), 'base64url')).toHaveLength(32);
    }
    // FIPS 180-2's test vector.
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(Buffer.from(newHashKey(), 'base64url')).toHaveLength(32);
  });
});

describe('KeyIndex', () => {
  const key = newKey();
  const other = newKey();

  it('finds the source of a key by its hash, with what the key may subscribe to', () => {
    const index = new KeyIndex([
      source('shop', [{ hash: hashKey(key), topics: ['intake.processed'] }]),
      source('web', [{ hash: hashKey(other) }]),
    ]);
    const found = index.lookup(key, T0);
    expect(found).toMatchObject({ kind: 'ok', source: { name: 'shop' } });
    expect(found.kind === 'ok' && [...found.topics]).toEqual(['intake.processed']);
    expect(index.lookup(other, T0)).toMatchObject({ kind: 'ok', source: { name: 'web' } });
    expect(index.lookupHash(hashKey(key), T0)).toMatchObject({ kind: 'ok' });
    expect(index.lookup(newKey(), T0)).toEqual({ kind: 'unknown' });
    expect(index.lookup(hashKey(key), T0)).toEqual({ kind: 'unknown' });
  });

  it('tells a disabled source and an expired key from an unknown key', () => {
    const index = new KeyIndex([
      source('shop', [{ hash: hashKey(key) }], false),
      source('web', [{ hash: hashKey(other), expiresAt: new Date(T0 + HOUR).toISOString() }]),
    ]);
    expect(index.lookup(key, T0)).toMatchObject({ kind: 'disabled', source: { name: 'shop' } });
    expect(index.lookup(other, T0 + HOUR - 1)).toMatchObject({ kind: 'ok' });
    expect(index.lookup(other, T0 + HOUR)).toMatchObject({ kind: 'expired' });
  });

  it('lets a key listed by two sources authenticate neither, and reports it', () => {
    const index = new KeyIndex([
      source('shop', [{ hash: hashKey(key) }]),
      source('web', [{ hash: hashKey(key) }, { hash: hashKey(other) }]),
    ]);
    expect(index.lookup(key, T0)).toEqual({ kind: 'unknown' });
    expect(index.conflicts).toEqual([hashKey(key)]);
    expect(index.lookup(other, T0)).toMatchObject({ kind: 'ok', source: { name: 'web' } });
  });
});

describe('rotateKey', () => {
  const old = newKey();
  const shop = source('shop', [{ hash: hashKey(old), topics: ['*'] }]);

  it('keeps the old key valid for the grace period, and not after', () => {
    const { source: next, key } = rotateKey(shop, T0, HOUR);
    expect(validateSource(next)).toEqual({ ok: true, source: next });
    expect(next.version).toBe(2);
    expect(next.updatedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(key).not.toBe(old);
    const index = new KeyIndex([next]);
    expect(index.lookup(key, T0)).toMatchObject({ kind: 'ok' });
    expect(index.lookup(old, T0 + HOUR - 1)).toMatchObject({ kind: 'ok' });
    expect(index.lookup(old, T0 + HOUR)).toMatchObject({ kind: 'expired' });
    expect(index.lookup(key, T0 + 365 * 24 * HOUR)).toMatchObject({ kind: 'ok' });
    // The new key may subscribe to what the old one could.
    const found = index.lookup(key, T0);
    expect(found.kind === 'ok' && [...found.topics]).toEqual(['*']);
  });

  it('without a grace, refuses the old key at once', () => {
    const { source: next } = rotateKey(shop, T0, 0);
    expect(next.keys).toHaveLength(1);
    expect(new KeyIndex([next]).lookup(old, T0)).toEqual({ kind: 'unknown' });
  });

  it('never lengthens an earlier grace, and drops the keys that expired', () => {
    const first = rotateKey(shop, T0, HOUR);
    const second = rotateKey(first.source, T0 + HOUR / 2, 24 * HOUR);
    const index = new KeyIndex([second.source]);
    expect(index.lookup(old, T0 + HOUR)).toMatchObject({ kind: 'expired' });
    expect(index.lookup(first.key, T0 + 24 * HOUR)).toMatchObject({ kind: 'ok' });
    const third = rotateKey(second.source, T0 + 2 * HOUR, HOUR);
    expect(third.source.keys.map((k) => k.hash)).toEqual([
      hashKey(first.key),
      hashKey(second.key),
      hashKey(third.key),
    ]);
  });

  it('keeps the newest keys when the record cannot hold them all', () => {
    let current = { source: shop, key: old };
    const keys = [old];
    for (let i = 1; i <= 20; i++) {
      current = rotateKey(current.source, T0 + i, HOUR);
      keys.push(current.key);
    }
    expect(validateSource(current.source).ok).toBe(true);
    const index = new KeyIndex([current.source]);
    expect(index.lookup(current.key, T0 + 21)).toMatchObject({ kind: 'ok' });
    expect(index.lookup(keys[keys.length - 2]!, T0 + 21)).toMatchObject({ kind: 'ok' });
    expect(index.lookup(old, T0 + 21)).toEqual({ kind: 'unknown' });
  });
});
