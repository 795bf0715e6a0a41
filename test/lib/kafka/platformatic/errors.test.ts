/**
 * Every @platformatic/kafka failure reaches Intake as an `IntakeError` with its code and
 * `retriable`: the broker's errors by name, also inside the client's aggregates (a
 * response carrying per-partition errors, retries given up), and its network errors.
 */
import { IntakeError } from '../../../../lib/errors';
import { translate, translated } from '../../../../lib/kafka/platformatic/errors';
import { platformatic } from '../../../../lib/kafka/platformatic/load';

// NOTE: the package is ESM only: its classes come through the adapter's loader.
const { MultipleErrors, NetworkError, ProtocolError, ResponseError, TimeoutError } = platformatic();

const BROKER_ERRORS: [string, string, boolean][] = [
  ['INVALID_PRODUCER_EPOCH', 'KAFKA_FENCED', true],
  ['PRODUCER_FENCED', 'KAFKA_FENCED', true],
  ['CONCURRENT_TRANSACTIONS', 'KAFKA_FENCED', true],
  ['UNKNOWN_MEMBER_ID', 'KAFKA_NOT_MEMBER', true],
  ['ILLEGAL_GENERATION', 'KAFKA_NOT_MEMBER', true],
  ['REBALANCE_IN_PROGRESS', 'KAFKA_NOT_MEMBER', true],
  ['FENCED_INSTANCE_ID', 'KAFKA_NOT_MEMBER', true],
  ['MESSAGE_TOO_LARGE', 'KAFKA_REJECTED', false],
  ['RECORD_LIST_TOO_LARGE', 'KAFKA_REJECTED', false],
  ['INVALID_RECORD', 'KAFKA_REJECTED', false],
  ['NOT_LEADER_OR_FOLLOWER', 'KAFKA_UNAVAILABLE', true],
  ['COORDINATOR_NOT_AVAILABLE', 'KAFKA_UNAVAILABLE', true],
];

const expectCode = (err: unknown, code: string, retriable: boolean): void => {
  const e = translate(err, 'the call failed');
  expect(e).toBeInstanceOf(IntakeError);
  expect({ code: e.code, retriable: e.retriable }).toEqual({ code, retriable });
  expect(e.message).toContain('the call failed');
  expect(e.cause).toBe(err);
};

describe('@platformatic/kafka errors', () => {
  it.each(BROKER_ERRORS)('the broker error %s becomes %s', (name, code, retriable) => {
    expectCode(new ProtocolError(name), code, retriable);
  });

  it.each(BROKER_ERRORS)(
    '%s inside a response and inside given-up retries too',
    (name, code, retriable) => {
      // A produce response with the error for one partition (Produce is API key 0).
      const response = new ResponseError(
        0,
        9,
        { '/topics/0/partitions/0': [errorId(name), null] },
        {},
      );
      expectCode(response, code, retriable);
      expectCode(
        new MultipleErrors('retries exhausted', [new NetworkError('closed'), response]),
        code,
        retriable,
      );
    },
  );

  it('network errors and timeouts are KAFKA_UNAVAILABLE; nothing else escapes untranslated', async () => {
    expectCode(new NetworkError('Connection closed'), 'KAFKA_UNAVAILABLE', true);
    expectCode(new TimeoutError('Request timed out'), 'KAFKA_UNAVAILABLE', true);
    expectCode(new Error('boom'), 'KAFKA_UNAVAILABLE', true);
    const own = new IntakeError('KAFKA_UNAVAILABLE', 'not covered');
    expect(translate(own, 'x')).toBe(own);
    await expect(
      translated('sending', () => Promise.reject(new ProtocolError('MESSAGE_TOO_LARGE'))),
    ).rejects.toMatchObject({ name: 'IntakeError', code: 'KAFKA_REJECTED', retriable: false });
  });
});

/** The broker's numeric code of an error name (what a response carries). */
function errorId(name: string): number {
  return new ProtocolError(name).apiCode as number;
}
