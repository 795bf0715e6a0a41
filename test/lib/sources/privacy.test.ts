/**
 * A source's privacy policy (lib/sources/privacy.ts), applied before anything is written:
 * IP truncation, user agent, opt-out signals, suppression, redaction by JSON pointer.
 */
import { createHmac } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { envelopeJson, wrapEvent } from '../../../lib/envelope';
import type { Envelope, RequestMeta } from '../../../lib/envelope';
import { validateSource } from '../../../lib/records/source';
import type { PrivacyPolicy } from '../../../lib/records/source';
import { newHashKey } from '../../../lib/sources/keys';
import {
  HASH_MEMO_ENTRIES,
  HASH_MEMO_MAX_CHARS,
  Privacy,
  decodePointer,
  optOutSignals,
  truncateIp,
} from '../../../lib/sources/privacy';

const T = '2026-01-01T00:00:00.000Z';

/** The default policy: what a source record that says nothing of privacy gets. */
const KEEP: PrivacyPolicy = (() => {
  const r = validateSource({ name: 's', enabled: true, keys: [], updatedAt: T, version: 1 });
  if (!r.ok) throw new Error(r.reason);
  return r.source.privacy;
})();
const NO_SIGNAL = { gpc: false, dnt: false };
const meta: RequestMeta = { requestId: 'r1', ip: '203.0.113.77', userAgent: 'Mozilla/5.0' };

function envelope(data: unknown, key = 'v1'): Envelope {
  const r = wrapEvent(
    { type: 'signup', key, data },
    { source: 'shop', pattern: 'request-ack', receivedAt: new Date(0), meta },
    JSON.stringify(data),
  );
  if (!r.ok) throw new Error(r.reason);
  return r.envelope;
}

describe('truncateIp', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['10.1.2.0', '10.1.2.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:0DB8:0000:0000:0001::1', '2001:db8::'],
    ['2001:db8::1', '2001:db8::'],
    ['::1', '::'],
    ['::', '::'],
    ['1:2:3:4:5:6:7:8', '1:2:3::'],
    ['fe80::1%eth0', 'fe80::'],
    ['::ffff:203.0.113.77', '::ffff:203.0.113.0'],
    ['::ffff:cb00:714d', '::ffff:203.0.113.0'],
    ['::203.0.113.77', '::'],
    ['::1:0:0:1:0:0', '0:0:1::'],
  ])('truncates %s to %s', (ip, truncated) => {
    expect(truncateIp(ip)).toBe(truncated);
  });

  it.each([['not an ip'], [''], ['203.0.113'], ['2001:db8::g'], ['[::1]']])(
    'gives nothing for %j (it is dropped, never kept)',
    (ip) => {
      expect(truncateIp(ip)).toBeUndefined();
    },
  );

  it('keeps the address in its own /24 or /48, and is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const truncated = truncateIp(ip)!;
        expect(isIP(truncated)).toBe(isIP(ip));
        expect(truncateIp(truncated)).toBe(truncated);
        const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
        const mapped = /^::ffff:\d/i.test(truncated);
        const block = new BlockList();
        if (mapped) block.addSubnet(truncated.slice(7), 24, 'ipv4');
        else block.addSubnet(truncated, family === 'ipv4' ? 24 : 48, family);
        expect(block.check(mapped ? truncated.slice(7) : ip, mapped ? 'ipv4' : family)).toBe(true);
      }),
    );
  });
});

describe('optOutSignals', () => {
  it('reads Sec-GPC: 1 and DNT: 1, nothing else', () => {
    expect(optOutSignals({ 'sec-gpc': '1' })).toEqual({ gpc: true, dnt: false });
    expect(optOutSignals({ dnt: ' 1 ' })).toEqual({ gpc: false, dnt: true });
    expect(optOutSignals({ 'sec-gpc': '0', dnt: 'yes' })).toEqual(NO_SIGNAL);
    expect(optOutSignals({ 'sec-gpc': ['1', '1'] })).toEqual(NO_SIGNAL);
  });
});

describe('Privacy.request (the metadata of a request)', () => {
  it('changes nothing under the default policy: the same object back', () => {
    const applied = new Privacy(KEEP).request(meta, { gpc: true, dnt: true });
    expect(applied.meta).toBe(meta);
    expect(applied.anonymous).toBe(false);
  });

  it('truncates or drops the IP and drops the user agent, as the policy says', () => {
    expect(new Privacy({ ...KEEP, ip: 'truncate' }).request(meta, NO_SIGNAL).meta).toStrictEqual({
      ...meta,
      ip: '203.0.113.0',
    });
    expect(new Privacy({ ...KEEP, ip: 'drop' }).request(meta, NO_SIGNAL).meta).toStrictEqual({
      requestId: 'r1',
      userAgent: 'Mozilla/5.0',
    });
    const noAgent = new Privacy({ ...KEEP, userAgent: 'drop' }).request(meta, NO_SIGNAL).meta;
    expect(noAgent).toStrictEqual({ requestId: 'r1', ip: meta.ip });
    expect('userAgent' in noAgent).toBe(false);
    expect(meta).toStrictEqual({ requestId: 'r1', ip: '203.0.113.77', userAgent: 'Mozilla/5.0' });
    // The fields stay in their order (the same JSON but for the field changed).
    const truncated = new Privacy({ ...KEEP, ip: 'truncate' }).request(meta, NO_SIGNAL).meta;
    expect(Object.keys(truncated)).toEqual(Object.keys(meta));
  });

  it('drops an address that is no IP when truncating', () => {
    const applied = new Privacy({ ...KEEP, ip: 'truncate' }).request({ ip: 'unix:/x' }, NO_SIGNAL);
    expect(applied.meta).toStrictEqual({});
  });

  it('makes a GPC or DNT request anonymous (IP dropped) when the policy honours the signal', () => {
    const privacy = new Privacy({ ...KEEP, gpc: 'anonymous' });
    const gpc = privacy.request(meta, { gpc: true, dnt: false });
    expect(gpc).toStrictEqual({
      meta: { requestId: 'r1', userAgent: 'Mozilla/5.0' },
      anonymous: true,
    });
    expect(privacy.request(meta, { gpc: false, dnt: true })).toStrictEqual({
      meta,
      anonymous: false,
    });
    const dnt = new Privacy({ ...KEEP, dnt: 'anonymous' }).request(meta, { gpc: false, dnt: true });
    expect(dnt.anonymous).toBe(true);
    expect(dnt.meta.ip).toBeUndefined();
  });
});

describe('Privacy.event (suppression and redaction)', () => {
  it('drops the events of a suppressed or forgotten key, and keeps the others as they are', () => {
    const privacy = new Privacy({ ...KEEP, suppressed: ['v-opted-out'] });
    expect(privacy.event(envelope({}, 'v-opted-out'))).toEqual({
      kind: 'drop',
      reason: 'suppressed',
    });
    const forgotten = (key: string) => key === 'v-forgotten';
    expect(privacy.event(envelope({}, 'v-forgotten'), forgotten).kind).toBe('drop');
    const kept = envelope({ a: 1 }, 'v1');
    const result = privacy.event(kept, forgotten);
    expect(result.kind === 'ok' && result.event).toBe(kept);
  });

  it('removes fields by pointer, and the written JSON no longer holds them', () => {
    const privacy = new Privacy({
      ...KEEP,
      redact: [
        { pointer: '/email', mode: 'remove' },
        { pointer: '/address/street', mode: 'remove' },
        { pointer: '/missing/field', mode: 'remove' },
      ],
    });
    const data = { email: 'a@example.com', address: { street: 'Main St 1', city: 'Oslo' }, n: 1 };
    const input = envelope(data);
    const result = privacy.event(input);
    if (result.kind !== 'ok') throw new Error('dropped');
    expect(result.event.data).toEqual({ address: { city: 'Oslo' }, n: 1 });
    const written = envelopeJson(result.event);
    expect(written).not.toContain('a@example.com');
    expect(written).not.toContain('Main St');
    expect(JSON.parse(written)).toEqual({
      ...JSON.parse(envelopeJson(input)),
      data: result.event.data,
    });
    // The input is not changed.
    expect(input.data).toEqual(data);
    expect(envelopeJson(input)).toContain('a@example.com');
  });

  it('replaces fields by their keyed hash (HMAC-SHA256 with the source key)', () => {
    const hashKey = newHashKey();
    const hmac = (text: string) =>
      createHmac('sha256', Buffer.from(hashKey, 'base64url')).update(text).digest('hex');
    const privacy = new Privacy({
      ...KEEP,
      hashKey,
      redact: [
        { pointer: '/email', mode: 'hash' },
        { pointer: '/ids/1', mode: 'hash' },
        { pointer: '/profile', mode: 'hash' },
      ],
    });
    const result = privacy.event(
      envelope({ email: 'a@example.com', ids: [7, 8], profile: { age: 40 } }),
    );
    expect(result.kind === 'ok' && result.event.data).toEqual({
      email: hmac('a@example.com'),
      ids: [7, hmac('8')],
      profile: hmac('{"age":40}'),
    });
    // The same value hashes alike in every event (joins still work); another key differs.
    const again = privacy.event(envelope({ email: 'a@example.com' }));
    expect(again.kind === 'ok' && (again.event.data as { email: string }).email).toBe(
      hmac('a@example.com'),
    );
    const other = new Privacy({
      ...KEEP,
      hashKey: newHashKey(),
      redact: [{ pointer: '/email', mode: 'hash' }],
    });
    const otherResult = other.event(envelope({ email: 'a@example.com' }));
    expect(
      otherResult.kind === 'ok' && (otherResult.event.data as { email: string }).email,
    ).not.toBe(hmac('a@example.com'));
  });

  it('hashes every value as HMAC-SHA256 does, remembered or not (long values, after the memo is full)', () => {
    const keys = [newHashKey(), newHashKey()];
    const policies = keys.map(
      (hashKey) => new Privacy({ ...KEEP, hashKey, redact: [{ pointer: '/v', mode: 'hash' }] }),
    );
    const hashed = (i: number, v: string): unknown => {
      const r = policies[i]!.event(envelope({ v }));
      return r.kind === 'ok' && (r.event.data as { v: unknown }).v;
    };
    const hmac = (i: number, v: string): string =>
      createHmac('sha256', Buffer.from(keys[i]!, 'base64url')).update(v).digest('hex');
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 1 }),
            fc.oneof(
              fc.constantFrom('a@example.com', 'b@example.com', 'user-1'),
              fc.string({ maxLength: 300 }),
            ),
          ),
          { maxLength: 40 },
        ),
        (values) => {
          for (const [i, v] of values) expect(hashed(i, v)).toBe(hmac(i, v));
        },
      ),
    );
    // More distinct values than the memo holds, then the first ones again.
    const many = Array.from({ length: HASH_MEMO_ENTRIES + 10 }, (_, n) => `user-${n}`);
    for (const v of many) hashed(0, v);
    for (const v of many.slice(0, 20)) expect(hashed(0, v)).toBe(hmac(0, v));
    expect(hashed(1, 'x'.repeat(HASH_MEMO_MAX_CHARS + 1))).toBe(
      hmac(1, 'x'.repeat(HASH_MEMO_MAX_CHARS + 1)),
    );
  });

  it('follows RFC 6901: escaped tokens, array indexes, and nothing for a pointer to nothing', () => {
    const privacy = new Privacy({
      ...KEEP,
      redact: [
        { pointer: '/a~1b', mode: 'remove' },
        { pointer: '/c~0d', mode: 'remove' },
        { pointer: '/items/0', mode: 'remove' },
        { pointer: '/items/5', mode: 'remove' },
        { pointer: '/items/01', mode: 'remove' },
        { pointer: '/items/-', mode: 'remove' },
        { pointer: '/n/x', mode: 'remove' },
        { pointer: '/', mode: 'remove' },
      ],
    });
    const result = privacy.event(
      envelope({ 'a/b': 1, 'c~d': 2, ab: 3, items: ['x', 'y'], n: 5, '': 'empty key' }),
    );
    expect(result.kind === 'ok' && result.event.data).toEqual({ ab: 3, items: ['y'], n: 5 });
    expect(decodePointer('/a~1b/c~0d/~01')).toEqual(['a/b', 'c~d', '~1']);
    const untouched = envelope({ other: 1 });
    const same = privacy.event(untouched);
    expect(same.kind === 'ok' && same.event).toBe(untouched);
    const scalar = envelope('just a string');
    expect(privacy.event(scalar)).toEqual({ kind: 'ok', event: scalar });
  });

  it('keeps a `__proto__` field a field', () => {
    const hashKey = newHashKey();
    const privacy = new Privacy({
      ...KEEP,
      hashKey,
      redact: [{ pointer: '/__proto__', mode: 'hash' }],
    });
    const data = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as unknown;
    const result = privacy.event(envelope(data));
    if (result.kind !== 'ok') throw new Error('dropped');
    const out = result.event.data as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(typeof out.__proto__).toBe('string');
  });
});
