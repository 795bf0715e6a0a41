/**
 * The wire formats shared between services (lib/records): what one side writes, the other
 * reads back, and anything else is refused.
 */
import { DLQ_HEADER, dlqHeaders, isDlqHeader, readDlqHeaders } from '../../../lib/records/dlq';
import { encodeProgress, parseProgress, progressKey } from '../../../lib/records/progress';
import {
  MAX_REASON_LENGTH,
  encodeRejection,
  parseRejection,
  rejectionKey,
} from '../../../lib/records/rejection';
import { encodeReply, parseReply } from '../../../lib/records/reply';
import { asScoreRecord, parseScore } from '../../../lib/records/score';

describe('progress record', () => {
  const record = {
    topic: 'raw',
    partition: 0,
    deliveredUpTo: '5',
    committedNext: '7',
    worker: 'w',
    at: '2026-01-01T00:00:00.000Z',
  };

  it('reads back what the worker writes, under its partition key', () => {
    expect(parseProgress(Buffer.from(encodeProgress(record)))).toEqual(record);
    expect(progressKey('raw', 3)).toBe('raw/3');
  });

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['an offset that is not a number', JSON.stringify({ ...record, deliveredUpTo: 'x' })],
    ['no worker', JSON.stringify({ ...record, worker: undefined })],
    ['a number for an offset', JSON.stringify({ ...record, committedNext: 7 })],
    ['no partition', JSON.stringify({ ...record, partition: undefined })],
  ])('throws on %s, so a view skips it', (_, text) => {
    expect(() => parseProgress(Buffer.from(text))).toThrow();
  });
});

describe('rejection record', () => {
  it('reads back what the worker writes, with the reason bounded, keyed by raw position', () => {
    const long = 'x'.repeat(MAX_REASON_LENGTH + 50);
    const back = parseRejection(encodeRejection({ reason: long, step: 'validate', at: 'now' }));
    expect(back).toEqual({ reason: 'x'.repeat(MAX_REASON_LENGTH), step: 'validate', at: 'now' });
    expect(rejectionKey('intake.raw', 2, 40n)).toBe('intake.raw/2/40');
    expect(rejectionKey('intake.raw', 2, '40')).toBe('intake.raw/2/40');
  });

  it.each([['{'], ['null'], ['{"reason":1,"step":"s","at":"a"}']])('throws on %s', (text) => {
    expect(() => parseRejection(text)).toThrow();
  });
});

describe('DLQ headers', () => {
  const dead = {
    reason: 'bad',
    step: 'validate',
    at: '2026-01-01T00:00:00.000Z',
    source: { topic: 'raw', partition: 4, offset: '99' },
  };

  it('reads back what the worker writes, from strings or Kafka buffers', () => {
    const headers = dlqHeaders(dead);
    expect(readDlqHeaders(headers)).toEqual(dead);
    const buffers = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]),
    );
    expect(readDlqHeaders(buffers)).toEqual(dead);
    expect(Object.keys(headers).every(isDlqHeader)).toBe(true);
    expect(isDlqHeader('intake-id')).toBe(false);
  });

  it('is null for a record that is not a dead letter', () => {
    expect(readDlqHeaders({ 'intake-id': 'x' })).toBeNull();
    expect(readDlqHeaders(undefined)).toBeNull();
    expect(
      readDlqHeaders({ ...dlqHeaders(dead), [DLQ_HEADER.sourceOffset]: 'not an offset' }),
    ).toBeNull();
  });
});

describe('reply', () => {
  const base = { id: 'e1', replyTo: 'edge-1', at: 'now' };

  it('splices the delivered event in as the result, byte for byte', () => {
    const result = Buffer.from('{"id":"e1","n":1e21,"s":"\\u00e9"}');
    const bytes = encodeReply({ ...base, outcome: 'processed' }, result);
    expect(bytes.toString()).toContain(`"result":${result.toString()}}`);
    expect(parseReply(bytes)).toEqual({
      ...base,
      outcome: 'processed',
      result: { id: 'e1', n: 1e21, s: 'é' },
    });
  });

  it('reads back a reply without a result', () => {
    const reply = { ...base, outcome: 'dropped' as const, reason: 'bot', step: 'filter' };
    expect(parseReply(encodeReply(reply))).toEqual(reply);
  });

  it.each([['{'], ['null'], ['{"id":"e","replyTo":"r","outcome":"maybe","at":"a"}']])(
    'is null for %s',
    (text) => {
      expect(parseReply(text)).toBeNull();
    },
  );
});

describe('score record', () => {
  const record = {
    visitorId: 'v1',
    score: 0.25,
    counts: { pageViews: 2, productViews: 1, carts: 0, checkouts: 0 },
    updatedAt: 'now',
    partition: 3,
    offset: '17',
  };

  it('reads back what the worker writes', () => {
    expect(parseScore(JSON.stringify(record))).toEqual(record);
    expect(asScoreRecord(record)).toBe(record);
  });

  it.each([
    ['not JSON', '{'],
    ['no counts', JSON.stringify({ ...record, counts: null })],
    [
      'a count that is not a number',
      JSON.stringify({ ...record, counts: { ...record.counts, carts: '1' } }),
    ],
    ['an offset that is not a number', JSON.stringify({ ...record, offset: 'x' })],
  ])('refuses %s', (_, text) => {
    expect(() => parseScore(text)).toThrow();
  });
});
