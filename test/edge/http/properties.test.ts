/**
 * Property-based tests (fast-check) of the two parsers every request goes through:
 * envelope validation never throws and accepts exactly the schema's events, and NDJSON
 * parsing returns each line's event in order, whatever the blank lines and invalid lines;
 * an array item's size is exactly that of its JSON, and an envelope serialises exactly as
 * `JSON.stringify` would.
 */
import fc from 'fast-check';
import { envelopeJson, wrapEvent } from '../../../lib/envelope';
import type { WrapContext } from '../../../lib/envelope';
import { parseBody } from '../../../services/edge/ingest/body';
import { bodyDefaults } from '../../../services/edge/ingest/body';

const ctx: WrapContext = { source: 's', pattern: 'request-ack', receivedAt: new Date(0), meta: {} };
const shortString = fc.string({ minLength: 1, maxLength: 128 });
// The body parser refuses these keys anywhere (no prototype pollution downstream), so a
// valid event's data never has them.
const FORBIDDEN_KEY = /"(__proto__|constructor|prototype)":/;
const eventData = fc.jsonValue().filter((v) => !FORBIDDEN_KEY.test(JSON.stringify(v) ?? ''));
const validEvent = fc.record(
  {
    type: shortString,
    id: shortString,
    key: shortString,
    ts: fc
      .date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true })
      .map((d) => d.toISOString()),
    data: eventData,
  },
  { requiredKeys: ['type'] },
);

describe('envelope validation (properties)', () => {
  it('never throws, whatever the input', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void wrapEvent(value, ctx)));
    fc.assert(fc.property(fc.anything(), (value) => void wrapEvent(value, ctx)));
  });

  it('accepts every schema-valid event, keeping its id and key', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const r = wrapEvent(event, ctx);
        if (!r.ok) throw new Error(r.reason);
        if (event.id !== undefined && r.envelope.id !== event.id) throw new Error('id changed');
        if (r.envelope.key !== (event.key ?? r.envelope.id)) throw new Error('key not kept');
        if (r.envelope.type !== event.type) throw new Error('type changed');
      }),
    );
  });

  it('refuses events with unknown top-level fields or a type that is not a short string', () => {
    fc.assert(
      fc.property(validEvent, fc.string({ minLength: 1, maxLength: 20 }), (event, field) => {
        fc.pre(!['type', 'id', 'key', 'visitorId', 'deviceId', 'ts', 'data'].includes(field));
        if (wrapEvent({ ...event, [field]: 1 }, ctx).ok)
          throw new Error(`accepted unknown field ${field}`);
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.constant(''), fc.string({ minLength: 129, maxLength: 300 })),
        (type) => {
          if (wrapEvent({ type }, ctx).ok) throw new Error('accepted a bad type');
        },
      ),
    );
  });
});

describe('NDJSON parsing (properties)', () => {
  it('returns every line in order; blank lines are skipped, bad lines are per-item errors', () => {
    const line = fc.oneof(
      validEvent.map((e) => ({ kind: 'event' as const, text: JSON.stringify(e), value: e })),
      fc
        .constantFrom('not json', '{"unterminated":', 'x y z')
        .map((text) => ({ kind: 'bad' as const, text, value: null })),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(line, fc.constantFrom('', '\n', '  \n')), {
          minLength: 1,
          maxLength: 40,
        }),
        (lines) => {
          const text = lines.map(([l, blank]) => `${l.text}\n${blank}`).join('');
          const parsed = parseBody(Buffer.from(text), 'ndjson', null, bodyDefaults);
          if (parsed.items.length !== lines.length)
            throw new Error(`expected ${lines.length} items, got ${parsed.items.length}`);
          parsed.items.forEach((item, i) => {
            const [expected] = lines[i]!;
            if (item.ok !== (expected.kind === 'event'))
              throw new Error(`item ${i}: ok=${item.ok} for ${expected.text}`);
            if (item.ok && JSON.stringify(item.value) !== JSON.stringify(expected.value))
              throw new Error(`item ${i} changed`);
          });
        },
      ),
    );
  });
});

describe('array items: exact size and one serialisation (properties)', () => {
  const item = fc.oneof(validEvent, fc.jsonValue());

  it('refuses an item exactly when its re-serialised JSON is larger than the limit', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 10 }), fc.nat(400), (items, max) => {
        const limits = { ...bodyDefaults, maxEventBytes: max };
        // spacing and escapes the re-serialised text does not have
        const text = JSON.stringify(items, null, 2).replace(
          /[/\u007f-\uffff]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        );
        const parsed = parseBody(Buffer.from(text), 'json', null, limits);
        parsed.items.forEach((it, i) => {
          const tooLarge = Buffer.byteLength(JSON.stringify(items[i])) > max;
          const refused = !it.ok && /larger than/.test(it.reason);
          if (tooLarge !== refused) throw new Error(`item ${i}: size check wrong`);
        });
      }),
    );
  });

  it('serialises an envelope exactly as JSON.stringify, its data text kept or not', () => {
    fc.assert(
      fc.property(
        fc.array(validEvent, { minLength: 1, maxLength: 10 }),
        fc.record({ requestId: fc.option(shortString, { nil: undefined }), ip: shortString }),
        (events, meta) => {
          const parsed = parseBody(Buffer.from(JSON.stringify(events)), 'json', null, bodyDefaults);
          const memo = {};
          parsed.items.forEach((it, i) => {
            if (!it.ok) throw new Error(it.reason);
            if ('data' in events[i]! && it.dataJson === undefined) throw new Error('no data text');
            const r = wrapEvent(it.value, { ...ctx, meta, replyTo: 'edge-1' }, it.dataJson);
            if (!r.ok) throw new Error(r.reason);
            if (envelopeJson(r.envelope, memo) !== JSON.stringify(r.envelope))
              throw new Error(`envelope ${i} serialised differently`);
            if (envelopeJson({ ...r.envelope }) !== JSON.stringify(r.envelope))
              throw new Error(`copy of envelope ${i} serialised differently`);
          });
        },
      ),
    );
  });
});
