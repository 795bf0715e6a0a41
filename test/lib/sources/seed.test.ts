/**
 * INTAKE_API_KEYS as source records (lib/sources/seed.ts): created once, never overwritten.
 */
import { IntakeError } from '../../../lib/errors';
import { KeyIndex, hashKey } from '../../../lib/sources/keys';
import { seedKeysNotApplied, seedSources } from '../../../lib/sources/seed';
import type { ListedKey } from '../../../lib/sources/seed';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const listed = (source: string, enabled = true, topics: string[] = []): ListedKey => ({
  source,
  enabled,
  topics: new Set(topics),
});
const nothingHeld = () => false;

describe('seedSources', () => {
  it('makes one source per name, its keys as hashes with their topics, the defaults otherwise', () => {
    const keys = new Map([
      ['k-shop-1', listed('shop', true, ['intake.processed'])],
      ['k-shop-2', listed('shop')],
      ['k-web', listed('web')],
    ]);
    const records = seedSources(keys, nothingHeld, T0);
    expect(records.map((r) => r.name)).toEqual(['shop', 'web']);
    expect(records[0]).toMatchObject({
      enabled: true,
      keys: [
        { hash: hashKey('k-shop-1'), topics: ['intake.processed'] },
        { hash: hashKey('k-shop-2') },
      ],
      quotas: { perDayGrace: 0 },
      privacy: { ip: 'keep', redact: [] },
      updatedAt: '2026-01-01T00:00:00.000Z',
      version: 1,
    });
    expect(JSON.stringify(records)).not.toContain('k-shop-1');
    const index = new KeyIndex(records);
    expect(index.lookup('k-shop-2', T0)).toMatchObject({ kind: 'ok', source: { name: 'shop' } });
    expect(index.lookup('k-web', T0)).toMatchObject({ kind: 'ok', source: { name: 'web' } });
  });

  it('leaves a source the topic holds as it is', () => {
    const keys = new Map([
      ['k-shop', listed('shop')],
      ['k-web', listed('web')],
    ]);
    expect(seedSources(keys, (name) => name === 'shop', T0).map((r) => r.name)).toEqual(['web']);
  });

  it('keeps disabled keys "disabled" when all of a source\'s are, and leaves them out otherwise', () => {
    const keys = new Map([
      ['k-old', listed('old', false)],
      ['k-shop', listed('shop')],
      ['k-shop-revoked', listed('shop', false)],
    ]);
    const index = new KeyIndex(seedSources(keys, nothingHeld, T0));
    expect(index.lookup('k-old', T0)).toMatchObject({ kind: 'disabled' });
    expect(index.lookup('k-shop', T0)).toMatchObject({ kind: 'ok' });
    expect(index.lookup('k-shop-revoked', T0)).toEqual({ kind: 'unknown' });
  });

  it('refuses a source that cannot be a record, naming it', () => {
    const bad = () => seedSources(new Map([['k', listed('a shop')]]), nothingHeld, T0);
    expect(bad).toThrow(IntakeError);
    expect(bad).toThrow(/INTAKE_API_KEYS: source "a shop" cannot be seeded: \/name/);
    const many = new Map(Array.from({ length: 17 }, (_, i) => [`k${i}`, listed('shop')]));
    expect(() => seedSources(many, nothingHeld, T0)).toThrow(/\/keys must NOT have more than 16/);
  });
});

describe('seedKeysNotApplied', () => {
  const held = new Map(
    seedSources(new Map([['k-shop', listed('shop')]]), nothingHeld, T0).map((s) => [s.name, s]),
  );
  const shop = held.get('shop')!;
  const get = (name: string) => held.get(name);

  it('names a held source whose listed key it does not hold, once', () => {
    const keys = new Map([
      ['k-other', listed('shop')],
      ['k-other-2', listed('shop')],
      ['k-shop', listed('shop')],
      ['k-web', listed('web')],
    ]);
    expect(seedKeysNotApplied(keys, get, T0)).toEqual(['shop']);
  });

  it('says nothing of a held key, a disabled listed key or a source it seeds', () => {
    const keys = new Map([
      ['k-shop', listed('shop')],
      ['k-revoked', listed('shop', false)],
      ['k-web', listed('web')],
    ]);
    expect(seedKeysNotApplied(keys, get, T0)).toEqual([]);
  });

  it('names a held source whose listed key expired (rotated away)', () => {
    const expiresAt = new Date(T0 + 1000).toISOString();
    held.set('shop', { ...shop, keys: [{ ...shop.keys[0]!, expiresAt }] });
    const keys = new Map([['k-shop', listed('shop')]]);
    expect(seedKeysNotApplied(keys, get, T0)).toEqual([]);
    expect(seedKeysNotApplied(keys, get, T0 + 1000)).toEqual(['shop']);
    held.set('shop', shop);
  });
});
