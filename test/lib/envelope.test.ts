import {
  HEADER_ID,
  HEADER_SOURCE,
  parseEnvelope,
  toKafkaMessage,
  wrapEvent,
} from '../../lib/envelope';
import type { WrapContext } from '../../lib/envelope';
import { uuidv7 } from '../../lib/uuid7';

const ctx: WrapContext = {
  source: 'web',
  pattern: 'request-ack',
  receivedAt: new Date('2026-01-01T00:00:00Z'),
  meta: { requestId: 'r1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
};

describe('wrapEvent', () => {
  it('keeps a client id as the idempotency key and uses the visitor id as the key', () => {
    const r = wrapEvent({ id: 'e1', type: 'page_view', visitorId: 'v1', data: { a: 1 } }, ctx);
    expect(r).toEqual({
      ok: true,
      envelope: expect.objectContaining({
        id: 'e1',
        key: 'v1',
        type: 'page_view',
        source: 'web',
        data: { a: 1 },
      }),
    });
  });

  it('generates a UUIDv7 id and falls back to it as the key', () => {
    const r = wrapEvent({ type: 't' }, ctx);
    if (!r.ok) throw new Error(r.reason);
    expect(r.envelope.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(r.envelope.key).toBe(r.envelope.id);
    expect(r.envelope.receivedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  it.each([
    ['a string', 'hello'],
    ['an array', [1]],
    ['null', null],
    ['no type', { data: 1 }],
    ['an empty type', { type: '' }],
    ['a numeric id', { type: 't', id: 5 }],
    ['a bad ts', { type: 't', ts: 'yesterday' }],
    ['a huge key', { type: 't', key: 'k'.repeat(500) }],
  ])('rejects %s with a reason', (_name, input) => {
    const r = wrapEvent(input, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
  });
});

describe('toKafkaMessage / parseEnvelope', () => {
  it('keys by the envelope key, carries id, source and trace headers, and round-trips', () => {
    const r = wrapEvent({ id: 'e1', type: 't', key: 'k1' }, ctx);
    if (!r.ok) throw new Error(r.reason);
    const m = toKafkaMessage(r.envelope);
    expect(m.key).toBe('k1');
    expect(m.headers).toMatchObject({
      [HEADER_ID]: 'e1',
      [HEADER_SOURCE]: 'web',
      traceparent: ctx.meta.traceparent,
    });
    expect(parseEnvelope(Buffer.from(m.value as string))).toEqual(r.envelope);
  });

  it('refuses values that are not envelopes', () => {
    expect(() => parseEnvelope(null)).toThrow();
    expect(() => parseEnvelope('not json')).toThrow();
    expect(() => parseEnvelope('{"id":"x"}')).toThrow(/envelope/);
  });
});

describe('uuidv7', () => {
  it('sorts by creation time', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(a < b).toBe(true);
  });

  it('is an RFC 9562 version 7 id carrying its millisecond, unique', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = uuidv7(1_700_000_000_000 + (i >> 4));
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(1_700_000_000_000 + (i >> 4));
      ids.add(id);
    }
    expect(ids.size).toBe(5000);
    expect(() => uuidv7(-1)).toThrow(RangeError);
    expect(() => uuidv7(2 ** 48)).toThrow(RangeError);
  });
});
