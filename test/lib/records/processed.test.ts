/**
 * The processed record (`intake.processed`): what the worker writes parses back, and the
 * parser refuses what is not one.
 */
import { wrapEvent } from '../../../lib/envelope';
import { hasCode } from '../../../lib/errors';
import fc from 'fast-check';
import {
  encodeProcessed,
  encodeProcessedOver,
  parseProcessed,
  processedKey,
} from '../../../lib/records/processed';
import type { ProcessedRecord } from '../../../lib/records/processed';

function processed(): ProcessedRecord {
  const r = wrapEvent(
    { id: 'e1', type: 'page_view', key: 'visitor-1', data: { path: '/' } },
    { source: 's', pattern: 'request-ack', receivedAt: new Date(0), meta: {} },
  );
  if (!r.ok) throw new Error(r.reason);
  return {
    ...r.envelope,
    enriched: {
      processedAt: '1970-01-01T00:00:01.000Z',
      worker: 'w1',
      latencyMs: 1000,
      userAgent: null,
      source: {},
    },
    propensity: 0.25,
  };
}

describe('processed record', () => {
  it('reads back what the worker writes, keyed by the event key', () => {
    const record = processed();
    expect(processedKey(record)).toBe('visitor-1');
    expect(parseProcessed(encodeProcessed(record))).toEqual(record);
  });

  it('keeps fields a user step added', () => {
    const record = { ...processed(), country: 'NL' };
    expect(parseProcessed(JSON.stringify(record))).toMatchObject({ country: 'NL' });
  });

  it.each([
    ['not JSON', '{'],
    ['a null value', null],
    ['not an envelope', JSON.stringify({ id: 'e1' })],
    ['an unknown pattern', JSON.stringify({ ...processed(), pattern: 'carrier-pigeon' })],
    ['a source that is not a string', JSON.stringify({ ...processed(), source: 7 })],
    ['a propensity outside [0, 1]', JSON.stringify({ ...processed(), propensity: 3 })],
    ['a propensity that is not a number', JSON.stringify({ ...processed(), propensity: 'high' })],
    [
      'an enrichment without its worker',
      JSON.stringify({ ...processed(), enriched: { processedAt: 'x' } }),
    ],
    ['a processedBy that is not a string', JSON.stringify({ ...processed(), processedBy: 1 })],
  ])('refuses %s with a BAD_INPUT error', (_what, value) => {
    let error: unknown;
    try {
      parseProcessed(value);
    } catch (err) {
      error = err;
    }
    expect(hasCode(error, 'BAD_INPUT')).toBe(true);
  });

  describe('written over the raw text (steps that only add fields)', () => {
    const ADDS = ['enriched', 'propensity', 'processedAt', 'processedBy'] as const;
    const json = fc.jsonValue({ maxDepth: 3 });
    const added = fc.record(
      {
        enriched: json,
        propensity: fc.double({ noNaN: true }),
        processedAt: fc.string(),
        processedBy: fc.string(),
      },
      { requiredKeys: [] },
    );

    it('is exactly what serialising the whole record writes, when the raw text was serialised so', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.string(), json), added, (data, more) => {
          const envelope = { ...processed(), data } as Record<string, unknown>;
          delete envelope.enriched;
          delete envelope.propensity;
          const value = Buffer.from(JSON.stringify(envelope));
          const record = JSON.parse(value.toString()) as ProcessedRecord;
          for (const name of ADDS) if (name in more) Object.assign(record, { [name]: more[name] });
          expect(encodeProcessedOver(record, { value, adds: ADDS }).toString()).toBe(
            encodeProcessed(record).toString(),
          );
        }),
      );
    });

    it('keeps the raw text as it was written (spaces, escapes, multi-byte characters), the fields appended', () => {
      const value = Buffer.from(
        '{ "id": "e1", "type": "page_view", "key": "v\u00e9", "data": { "name": "caf\u00e9 ☕" } }\n',
      );
      const record = JSON.parse(value.toString()) as ProcessedRecord;
      record.propensity = 0.5;
      record.processedBy = 'wörker';
      const out = encodeProcessedOver(record, {
        value,
        adds: ['enriched', 'propensity', 'processedBy'],
      });
      expect(out.toString()).toBe(
        '{ "id": "e1", "type": "page_view", "key": "v\u00e9", "data": { "name": "caf\u00e9 ☕" } ,"propensity":0.5,"processedBy":"wörker"}',
      );
      expect(JSON.parse(out.toString())).toEqual(JSON.parse(encodeProcessed(record).toString()));
    });

    it('serialises the record again when the raw text does not end in a closing brace', () => {
      const record = { ...processed() };
      const value = Buffer.from(`${JSON.stringify(record)} x`);
      expect(encodeProcessedOver(record, { value, adds: ['propensity'] })).toEqual(
        encodeProcessed(record),
      );
    });
  });
});
