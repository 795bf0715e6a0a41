/**
 * Kafka's own error names (the broker's protocol errors, the same whatever the client)
 * and the Intake code each stands for; both adapters translate through this table:
 *
 * - a producer another one with the same transactional id took over -> `KAFKA_FENCED`
 *   (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED; CONCURRENT_TRANSACTIONS still after the
 *   client's retries, which is what a write gets while the broker aborts its transaction
 *   for the newcomer: a lone writer serialises its transactions and never sees it to the end);
 * - a member the group moved on without -> `KAFKA_NOT_MEMBER` (UNKNOWN_MEMBER_ID,
 *   ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, FENCED_INSTANCE_ID);
 * - a record the broker refuses for good -> `KAFKA_REJECTED` (MESSAGE_TOO_LARGE,
 *   RECORD_LIST_TOO_LARGE, INVALID_RECORD);
 * - every other error (connections, timeouts, leaders moving, retries exhausted) is
 *   `KAFKA_UNAVAILABLE`.
 */
import type { ErrorCode } from '../errors';
import { IntakeError } from '../errors';

export const BROKER_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  INVALID_PRODUCER_EPOCH: 'KAFKA_FENCED',
  PRODUCER_FENCED: 'KAFKA_FENCED',
  CONCURRENT_TRANSACTIONS: 'KAFKA_FENCED',
  UNKNOWN_MEMBER_ID: 'KAFKA_NOT_MEMBER',
  ILLEGAL_GENERATION: 'KAFKA_NOT_MEMBER',
  REBALANCE_IN_PROGRESS: 'KAFKA_NOT_MEMBER',
  FENCED_INSTANCE_ID: 'KAFKA_NOT_MEMBER',
  MESSAGE_TOO_LARGE: 'KAFKA_REJECTED',
  RECORD_LIST_TOO_LARGE: 'KAFKA_REJECTED',
  INVALID_RECORD: 'KAFKA_REJECTED',
};

/** The first of `names` (broker error names found in a client error) with a code, else unavailable. */
export function codeOfBrokerErrors(names: Iterable<string>): ErrorCode {
  for (const name of names) {
    const code = BROKER_ERROR_CODES[name];
    if (code) return code;
  }
  return 'KAFKA_UNAVAILABLE';
}

/** Translation of one client's errors: `codeOf` reads the Intake code off a client error. */
export function errorTranslation(
  codeOf: (err: unknown) => ErrorCode,
  /** What the error says (its message unless a client hides the cause inside). */
  describe: (err: unknown) => string = (err) => (err instanceof Error ? err.message : String(err)),
): {
  /** `err` as an `IntakeError` saying `what` failed (an `IntakeError` passes unchanged). */
  translate: (err: unknown, what: string) => IntakeError;
  /** Runs `call`, translating its failure. */
  translated: <T>(what: string, call: () => Promise<T>) => Promise<T>;
} {
  const translate = (err: unknown, what: string): IntakeError => {
    if (err instanceof IntakeError) return err;
    return new IntakeError(codeOf(err), `${what}: ${describe(err)}`, { cause: err });
  };
  return {
    translate,
    translated: async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (err) {
        throw translate(err, what);
      }
    },
  };
}

/**
 * The calls of one transactional producer, translated; once one failed `KAFKA_FENCED`,
 * every later one is refused with that error without running: a fenced producer stays
 * fenced (a client would otherwise register its id again and fence the newcomer, or fail
 * with a state error of its own).
 */
export class FencedLatch {
  private fenced: IntakeError | null = null;

  constructor(private readonly translate: (err: unknown, what: string) => IntakeError) {}

  async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.fenced) throw this.fenced;
    try {
      return await run();
    } catch (err) {
      const error = this.translate(err, what);
      if (error.code === 'KAFKA_FENCED') this.fenced = error;
      throw error;
    }
  }
}
