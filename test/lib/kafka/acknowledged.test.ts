/**
 * An answer to a produce request that leaves out a partition the request wrote to is not
 * an acknowledgement (kafkajs can resolve so after a leader moved during its retries).
 */
import { assertAcknowledged } from '../../../lib/kafka/acknowledged';
import type { Ack } from '../../../lib/kafka/port';
import { IntakeError } from '../../../lib/errors';

const answer = (topic: string, partition: number, baseOffset = '7'): Ack => ({
  topic,
  partition,
  baseOffset,
});

const request = [
  {
    topic: 'raw',
    messages: [
      { key: 'a', value: '1', partition: 0 },
      { key: 'b', value: '2', partition: 3 },
      { key: 'c', value: '3', partition: 0 },
    ],
  },
  { topic: 'dlq', messages: [{ key: 'd', value: '4', partition: 1 }] },
];

describe('assertAcknowledged', () => {
  it('accepts an answer covering every partition written to', () => {
    expect(() =>
      assertAcknowledged(request, [answer('raw', 0), answer('raw', 3), answer('dlq', 1)]),
    ).not.toThrow();
  });

  it('refuses, retriably and naming it, an answer that leaves a partition out', () => {
    let error: unknown;
    try {
      assertAcknowledged(request, [answer('raw', 0), answer('dlq', 1)]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IntakeError);
    expect((error as IntakeError).code).toBe('KAFKA_UNAVAILABLE');
    expect((error as IntakeError).retriable).toBe(true);
    expect((error as IntakeError).message).toContain('raw/3');
  });

  it('refuses an answer for the right partition of another topic', () => {
    expect(() => assertAcknowledged(request, [answer('raw', 0), answer('raw', 3)])).toThrow(
      /dlq\/1/,
    );
  });

  it('does not check records whose partition the client library chose', () => {
    expect(() =>
      assertAcknowledged([{ topic: 'raw', messages: [{ key: 'a', value: '1' }] }], []),
    ).not.toThrow();
  });
});
