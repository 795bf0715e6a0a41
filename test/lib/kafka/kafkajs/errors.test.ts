/**
 * Every kafkajs failure reaches Intake as an `IntakeError` with its code and `retriable`:
 * the broker's errors by name (also wrapped by kafkajs' retries), kafkajs' own wordings
 * of a fenced producer or a lost membership, and its connection errors.
 */
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} from 'kafkajs';
import { IntakeError } from '../../../../lib/errors';
import { BROKER_ERROR_CODES } from '../../../../lib/kafka/broker-errors';
import { translate, translated } from '../../../../lib/kafka/kafkajs/errors';

/** kafkajs' error for a broker error code, as its decoders build it. */
const protocol = (type: string, retriable = false): Error =>
  new KafkaJSProtocolError({
    type,
    code: 0,
    retriable,
    message: `broker said ${type}`,
  } as unknown as Error);

const cases: [string, Error, string, boolean][] = [
  ['INVALID_PRODUCER_EPOCH', protocol('INVALID_PRODUCER_EPOCH'), 'KAFKA_FENCED', true],
  ['PRODUCER_FENCED', protocol('PRODUCER_FENCED'), 'KAFKA_FENCED', true],
  ['CONCURRENT_TRANSACTIONS', protocol('CONCURRENT_TRANSACTIONS', true), 'KAFKA_FENCED', true],
  ['UNKNOWN_MEMBER_ID', protocol('UNKNOWN_MEMBER_ID'), 'KAFKA_NOT_MEMBER', true],
  ['ILLEGAL_GENERATION', protocol('ILLEGAL_GENERATION'), 'KAFKA_NOT_MEMBER', true],
  ['REBALANCE_IN_PROGRESS', protocol('REBALANCE_IN_PROGRESS', true), 'KAFKA_NOT_MEMBER', true],
  ['FENCED_INSTANCE_ID', protocol('FENCED_INSTANCE_ID'), 'KAFKA_NOT_MEMBER', true],
  ['MESSAGE_TOO_LARGE', protocol('MESSAGE_TOO_LARGE'), 'KAFKA_REJECTED', false],
  ['RECORD_LIST_TOO_LARGE', protocol('RECORD_LIST_TOO_LARGE'), 'KAFKA_REJECTED', false],
  ['INVALID_RECORD', protocol('INVALID_RECORD'), 'KAFKA_REJECTED', false],
  ['NOT_LEADER_OR_FOLLOWER', protocol('NOT_LEADER_OR_FOLLOWER', true), 'KAFKA_UNAVAILABLE', true],
  ['a connection error', new KafkaJSConnectionError('ECONNREFUSED'), 'KAFKA_UNAVAILABLE', true],
  ['a request timeout', new KafkaJSRequestTimeoutError('timed out'), 'KAFKA_UNAVAILABLE', true],
  [
    'retries exhausted on a fenced producer',
    new KafkaJSNumberOfRetriesExceeded(protocol('INVALID_PRODUCER_EPOCH'), {
      retryCount: 5,
      retryTime: 1000,
    }),
    'KAFKA_FENCED',
    true,
  ],
  [
    'retries exhausted on a connection',
    new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('ECONNREFUSED'), {
      retryCount: 5,
      retryTime: 1000,
    }),
    'KAFKA_UNAVAILABLE',
    true,
  ],
  [
    "kafkajs' wording of a lost membership",
    new KafkaJSNonRetriableError('The coordinator is not aware of this member'),
    'KAFKA_NOT_MEMBER',
    true,
  ],
  [
    "kafkajs' wording of a fenced producer",
    new KafkaJSNonRetriableError(
      'There is a newer producer with the same transactionalId which fences the current one',
    ),
    'KAFKA_FENCED',
    true,
  ],
  ['anything else', new Error('boom'), 'KAFKA_UNAVAILABLE', true],
];

// NOTE: kafkajs' table of the broker's errors is not part of its exported API.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { errorCodes } = require('kafkajs/src/protocol/error') as {
  errorCodes: { type: string; code: number; retriable: boolean; message: string }[];
};

describe('kafkajs errors: every broker error kafkajs knows', () => {
  it.each(errorCodes.map((e) => [e.type, e] as const))(
    '%s becomes an IntakeError (its code from the table, else KAFKA_UNAVAILABLE)',
    (type, e) => {
      const expected = BROKER_ERROR_CODES[type] ?? 'KAFKA_UNAVAILABLE';
      const err = translate(protocol(type, e.retriable), 'the call failed');
      expect(err).toBeInstanceOf(IntakeError);
      expect({ code: err.code, retriable: err.retriable }).toEqual({
        code: expected,
        retriable: expected !== 'KAFKA_REJECTED',
      });
    },
  );
});

describe('kafkajs errors', () => {
  it.each(cases)('%s becomes %s', (_name, err, code, retriable) => {
    const e = translate(err, 'the call failed');
    expect(e).toBeInstanceOf(IntakeError);
    expect({ code: e.code, retriable: e.retriable }).toEqual({ code, retriable });
    expect(e.message).toContain('the call failed');
    expect(e.cause).toBe(err);
  });

  it('lets an IntakeError pass unchanged, and never lets a kafkajs error escape a call', async () => {
    const own = new IntakeError('KAFKA_UNAVAILABLE', 'not covered');
    expect(translate(own, 'x')).toBe(own);
    await expect(
      translated('sending', () => Promise.reject(protocol('MESSAGE_TOO_LARGE'))),
    ).rejects.toMatchObject({ name: 'IntakeError', code: 'KAFKA_REJECTED', retriable: false });
  });
});
