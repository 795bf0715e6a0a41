/**
 * Every @platformatic/kafka failure reaches Intake as an `IntakeError` with its code and
 * `retriable`: the broker's errors by name, also inside the client's aggregates (a
 * response carrying per-partition errors, retries given up), and its network errors.
 */
import { IntakeError } from '../../../../lib/errors';
import { BROKER_ERROR_CODES } from '../../../../lib/kafka/broker-errors';
import { translate, translated } from '../../../../lib/kafka/platformatic/errors';
import { platformatic } from '../../../../lib/kafka/platformatic/load';

// NOTE: the package is ESM only: its classes come through the adapter's loader.
const {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UnsupportedApiError,
  UserError,
  protocolErrors,
} = platformatic();

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

  it('a failure after retries says why: the distinct messages it gathers, at most three', () => {
    const retries = new MultipleErrors('commit failed 6 times.', [
      new ProtocolError('NOT_COORDINATOR'),
      new ProtocolError('NOT_COORDINATOR'),
      new MultipleErrors('inner', [new NetworkError('Connection closed')]),
      new TimeoutError('Request timed out'),
    ]);
    const message = translate(retries, 'committing failed').message;
    expect(message).toContain('commit failed 6 times.');
    expect(message).toContain(new ProtocolError('NOT_COORDINATOR').message);
    expect(message).toContain('Connection closed');
    expect(message).toContain('Request timed out');
    const many = new MultipleErrors('failed 4 times.', [
      new NetworkError('first'),
      new NetworkError('second'),
      new NetworkError('third'),
      new NetworkError('one too many'),
    ]);
    expect(translate(many, 'x').message).toBe('x: failed 4 times. (first; second; third)');
    expect(translate(new NetworkError('alone'), 'x').message).toBe('x: alone');
  });

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

describe('@platformatic/kafka errors: every one the client knows', () => {
  const known = new Map(
    BROKER_ERRORS.map(([name, code, retriable]) => [name, { code, retriable }]),
  );

  it.each(Object.keys(protocolErrors))(
    'the broker error %s becomes an IntakeError (its code from the table, KAFKA_NOT_MEMBER when the client says rejoin, else KAFKA_UNAVAILABLE)',
    (name) => {
      // The client marks the errors after which a member must join again (needsRejoin).
      const rejoin = new ProtocolError(name).needsRejoin === true;
      const expected =
        BROKER_ERROR_CODES[name] ?? (rejoin ? 'KAFKA_NOT_MEMBER' : 'KAFKA_UNAVAILABLE');
      expectCode(new ProtocolError(name), expected, expected !== 'KAFKA_REJECTED');
      if (known.has(name)) expect(known.get(name)!.code).toBe(expected);
    },
  );

  it.each([
    [
      'a user error (a call the client refuses)',
      new UserError('There is already an active transaction.'),
    ],
    ['an unsupported API', new UnsupportedApiError('no such API')],
    ['an authentication failure', new AuthenticationError('SASL failed')],
  ])('%s is KAFKA_UNAVAILABLE', (_name, err) => {
    expectCode(err, 'KAFKA_UNAVAILABLE', true);
  });
});

/** The broker's numeric code of an error name (what a response carries). */
function errorId(name: string): number {
  return new ProtocolError(name).apiCode as number;
}
