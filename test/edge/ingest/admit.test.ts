/**
 * The ingest core every transport shares: content types, and admission of parsed items
 * (indexes kept, reasons given, the default key asked for only when an event needs it).
 */
import { admit } from '../../../services/edge/ingest/admit';
import { bodyDefaults, parseBody } from '../../../services/edge/ingest/body';
import { bodyFormatOf } from '../../../services/edge/ingest/content-type';

const ctx = {
  source: 'test',
  pattern: 'request-ack' as const,
  receivedAt: new Date('2026-01-01T00:00:00Z'),
  meta: {},
};

describe('bodyFormatOf', () => {
  it.each([
    ['application/json', 'json'],
    ['Application/JSON; charset=UTF-8', 'json'],
    ['application/x-ndjson;charset=utf8', 'ndjson'],
  ])('reads %s as %s', (header, format) => {
    expect(bodyFormatOf(header)).toEqual({ ok: true, format });
  });

  it.each([undefined, '', 'text/html', 'application/jsonx', 'application/json, text/plain'])(
    'refuses %p',
    (header) => {
      expect(bodyFormatOf(header).ok).toBe(false);
    },
  );

  it('refuses a charset other than UTF-8, naming it', () => {
    expect(bodyFormatOf('application/json; charset=latin1')).toEqual({
      ok: false,
      detail: 'Events must be UTF-8, not latin1.',
    });
  });
});

describe('admit', () => {
  it('wraps the valid items and lists the others by index, in item order', () => {
    const { items } = parseBody(
      Buffer.from('{"type":"a","key":"k"}\nnot json\n{"nope":1}\n{"type":"b","id":"x-1"}'),
      'ndjson',
      null,
      bodyDefaults,
    );
    let asked = 0;
    const { envelopes, rejected } = admit(items, {
      ...ctx,
      defaultKey: () => {
        asked += 1;
        return 'visitor-1';
      },
    });
    expect(envelopes.map((e) => [e.index, e.envelope.type, e.envelope.key])).toEqual([
      [0, 'a', 'k'],
      [3, 'b', 'visitor-1'],
    ]);
    expect(envelopes[1]!.envelope.id).toBe('x-1');
    expect(rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(rejected[0]!.reason).toMatch(/not valid JSON/);
    expect(rejected[1]!.reason).toMatch(/"type" is required|unknown field/);
    expect(asked).toBe(1);
  });

  it('admits nothing from nothing', () => {
    expect(admit([], ctx)).toEqual({ envelopes: [], rejected: [] });
  });
});
