/**
 * The processed record (`intake.processed`): what the worker writes parses back, and the
 * parser refuses what is not one.
 */
import { wrapEvent } from '../../../lib/envelope';
import { hasCode } from '../../../lib/errors';
import { encodeProcessed, parseProcessed, processedKey } from '../../../lib/records/processed';
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
});
