/**
 * The source record (lib/records/source.ts): what the CLI and the admin API write, every
 * edge reads back; anything else is refused with the bad field named.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { IntakeError } from '../../../lib/errors';
import {
  SOURCE_LIMITS,
  encodeSource,
  parseSource,
  validateSource,
} from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';

const HASH = 'a'.repeat(64);
const minimal = {
  name: 'shop',
  enabled: true,
  keys: [{ hash: HASH }],
  updatedAt: '2026-01-01T00:00:00.000Z',
  version: 1,
};

const valid = (value: unknown): SourceRecord => {
  const result = validateSource(value);
  if (!result.ok) throw new Error(`${result.field} ${result.reason}`);
  return result.source;
};

describe('source record', () => {
  it('fills the defaults of a minimal record: no quota, everything kept, signals ignored', () => {
    expect(valid(minimal)).toEqual({
      ...minimal,
      origins: [],
      appIds: [],
      quotas: { perDayGrace: 0 },
      privacy: {
        ip: 'keep',
        userAgent: 'keep',
        redact: [],
        gpc: 'ignore',
        dnt: 'ignore',
        suppressed: [],
      },
    });
  });

  it('does not change the value it validates', () => {
    const value = structuredClone(minimal);
    valid(value);
    expect(value).toEqual(minimal);
  });

  it('reads back what a writer encodes, under its name', () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    const time = fc.integer({ min: 0, max: 4102444800000 }).map((t) => new Date(t).toISOString());
    const record = fc.record({
      name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
      enabled: fc.boolean(),
      keys: fc.uniqueArray(
        fc.record(
          {
            hash: hex,
            expiresAt: time,
            topics: fc.array(fc.constantFrom('*', 'intake.processed')),
          },
          { requiredKeys: ['hash'] },
        ),
        { maxLength: SOURCE_LIMITS.keys, selector: (k) => k.hash },
      ),
      origins: fc.array(fc.constantFrom('*', 'https://shop.example', 'http://localhost:8080')),
      appIds: fc.array(fc.string({ minLength: 1, maxLength: 128 }), { maxLength: 4 }),
      quotas: fc.record(
        {
          perSecond: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
          burst: fc.integer({ min: 1, max: 1e6 }),
          perDay: fc.integer({ min: 0, max: 1e9 }),
          perDayGrace: fc.double({ min: 0, max: 1, noNaN: true }),
        },
        { requiredKeys: ['perSecond', 'perDayGrace'] },
      ),
      privacy: fc.record(
        {
          ip: fc.constantFrom('keep', 'truncate', 'drop'),
          userAgent: fc.constantFrom('keep', 'drop'),
          redact: fc.array(
            fc.record({
              pointer: fc
                .array(fc.string(), { minLength: 1, maxLength: 3 })
                .map((tokens) =>
                  tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''),
                ),
              mode: fc.constantFrom('remove', 'hash'),
            }),
            { maxLength: 4 },
          ),
          gpc: fc.constantFrom('anonymous', 'ignore'),
          dnt: fc.constantFrom('anonymous', 'ignore'),
          suppressed: fc.array(fc.string({ minLength: 1, maxLength: 128 }), { maxLength: 4 }),
          hashKey: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        },
        { requiredKeys: ['ip', 'userAgent', 'redact', 'gpc', 'dnt', 'suppressed', 'hashKey'] },
      ),
      updatedAt: time,
      version: fc.integer({ min: 1, max: 2 ** 40 }),
    });
    fc.assert(
      fc.property(record, (r) => {
        const source = r as SourceRecord;
        expect(valid(source)).toEqual(source);
        expect(parseSource(source.name, Buffer.from(encodeSource(source)))).toEqual(source);
      }),
    );
  });

  it('reads the example of docs/sources.md, and gives the errors it shows', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/sources.md'), 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(parseSource('shop', example)).toEqual(JSON.parse(example));
    const shown = /```\n(source record [\s\S]*?)```/.exec(doc)![1]!.trim().split('\n');
    const record = JSON.parse(example) as SourceRecord;
    const bad = [
      { ...record, quotas: { ...record.quotas, burst: 0 } },
      { ...record, privacy: { ...record.privacy, redact: [{ pointer: 'email' }] } },
      { ...record, privacy: { ...record.privacy, hashKey: undefined } },
      { ...record, origins: ['https://Shop.example'] },
    ];
    expect(bad).toHaveLength(shown.length);
    bad.forEach((r, i) => expect(() => parseSource('shop', JSON.stringify(r))).toThrow(shown[i]));
  });

  it('is null for a tombstone: the source was removed', () => {
    expect(parseSource('shop', null)).toBeNull();
  });

  it.each([
    ['no name', { ...minimal, name: undefined }, '/name', 'is required'],
    ['a name with a slash', { ...minimal, name: 'a/b' }, '/name', 'must be letters'],
    ['an unknown field', { ...minimal, enabeld: true }, '/enabeld', 'is not a setting'],
    [
      'a key that is no hash',
      { ...minimal, keys: [{ hash: 'ik_secret' }] },
      '/keys/0/hash',
      'SHA-256',
    ],
    [
      'a key listed twice',
      { ...minimal, keys: [{ hash: HASH }, { hash: HASH }] },
      '/keys/1/hash',
      'twice',
    ],
    [
      'an expiry that is no time',
      { ...minimal, keys: [{ hash: HASH, expiresAt: 'tomorrow' }] },
      '/keys/0/expiresAt',
      'date-time',
    ],
    [
      'a path for an origin',
      { ...minimal, origins: ['https://shop.example/cart'] },
      '/origins/0',
      'origin',
    ],
    [
      'an origin not written as browsers send it',
      { ...minimal, origins: ['https://Shop.Example:443'] },
      '/origins/0',
      'must be written https://shop.example',
    ],
    ['a burst of 0', { ...minimal, quotas: { perSecond: 1, burst: 0 } }, '/quotas/burst', '>= 1'],
    [
      'a burst without a rate',
      { ...minimal, quotas: { burst: 5 } },
      '/quotas/perSecond',
      'with burst',
    ],
    ['a negative daily quota', { ...minimal, quotas: { perDay: -1 } }, '/quotas/perDay', '>= 0'],
    [
      'a grace over 100%',
      { ...minimal, quotas: { perDayGrace: 2 } },
      '/quotas/perDayGrace',
      '<= 1',
    ],
    [
      'an unknown IP policy',
      { ...minimal, privacy: { ip: 'mask' } },
      '/privacy/ip',
      'keep, truncate, drop',
    ],
    [
      'a redaction that is no pointer',
      { ...minimal, privacy: { redact: [{ pointer: 'email' }] } },
      '/privacy/redact/0/pointer',
      'JSON pointer',
    ],
    [
      'a pointer with a bad escape',
      { ...minimal, privacy: { redact: [{ pointer: '/a~2' }] } },
      '/privacy/redact/0/pointer',
      'JSON pointer',
    ],
    [
      'a hashed field without a hash key',
      { ...minimal, privacy: { redact: [{ pointer: '/email', mode: 'hash' }] } },
      '/privacy/hashKey',
      'is required',
    ],
    [
      'an opt-out policy that is unknown',
      { ...minimal, privacy: { gpc: 'honour' } },
      '/privacy/gpc',
      'anonymous, ignore',
    ],
    [
      'an empty suppressed id',
      { ...minimal, privacy: { suppressed: [''] } },
      '/privacy/suppressed/0',
      'fewer than 1',
    ],
    ['a version of 0', { ...minimal, version: 0 }, '/version', '>= 1'],
    ['not an object', [], '/', 'must be object'],
  ])('names the field of %s', (_, value, field, reason) => {
    const result = validateSource(value);
    expect(result).toEqual({ ok: false, field, reason: expect.stringContaining(reason) });
    let thrown: unknown;
    try {
      parseSource('shop', JSON.stringify(value));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(IntakeError);
    expect((thrown as IntakeError).code).toBe('BAD_INPUT');
    expect((thrown as IntakeError).message).toContain(field);
  });

  it('refuses a value that is not JSON, and a record under another key', () => {
    expect(validateSource({ ...minimal, name: () => 'shop' })).toEqual({
      ok: false,
      field: '/',
      reason: 'is not JSON',
    });
    expect(() => parseSource('shop', '{')).toThrow(/not JSON/);
    expect(() => parseSource('web', encodeSource(valid(minimal)))).toThrow(/\/name/);
  });
});
