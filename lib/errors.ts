/**
 * The one error base of Intake. Every error that crosses a module boundary is an
 * `IntakeError` with a code from a closed set and a `retriable` flag, so callers decide
 * on retry (and the edge on 503 vs 4xx) without parsing messages. Kafka client errors are
 * translated here, at the boundary.
 */

export const ERROR_CODES = {
  /** Kafka did not acknowledge in time, or is unreachable. */
  KAFKA_UNAVAILABLE: { retriable: true, status: 503 },
  /** Kafka rejected the record for a reason a retry will not fix (e.g. too large). */
  KAFKA_REJECTED: { retriable: false, status: 500 },
  /**
   * A newer producer with the same transactional id took over (this one is a zombie): its
   * transaction is aborted; a new producer may claim the id back.
   */
  KAFKA_FENCED: { retriable: true, status: 503 },
  /** The consumer group moved on without this member (a rebalance): it rejoins. */
  KAFKA_NOT_MEMBER: { retriable: true, status: 503 },
  /** The local durable store (the worker's outbound log) failed or is full. */
  STORE_FAILED: { retriable: true, status: 503 },
  /** The component is over a bound it protects (in-flight bytes, queue size). */
  OVERLOADED: { retriable: true, status: 503 },
  /** The component is shutting down and takes no new work. */
  SHUTTING_DOWN: { retriable: true, status: 503 },
  /** Configuration is invalid; the process must not start. */
  CONFIG_INVALID: { retriable: false, status: 500 },
  /** A request or record is malformed. */
  BAD_INPUT: { retriable: false, status: 400 },
  /** A programming error: never retried. */
  INTERNAL: { retriable: false, status: 500 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class IntakeError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** Seconds a client should wait before retrying, when the thrower knows it. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IntakeError';
    this.code = code;
    this.retriable = ERROR_CODES[code].retriable;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** True for an error a retry may fix (dependency failures), false otherwise. */
export function isRetriable(err: unknown): boolean {
  return err instanceof IntakeError && err.retriable;
}

/** True when `err`, or an error it wraps (`cause`), is an `IntakeError` with this code. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof IntakeError && e.code === code) return true;
    e = e.cause;
  }
  return false;
}

/**
 * `err` as an `IntakeError`: itself when it is one (the Kafka adapters translate every
 * client error at the boundary: lib/kafka/kafkajs/errors.ts, lib/kafka/platformatic/errors.ts),
 * otherwise `KAFKA_UNAVAILABLE` naming what failed.
 */
export function fromKafkaError(err: unknown, what: string): IntakeError {
  if (err instanceof IntakeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new IntakeError('KAFKA_UNAVAILABLE', `${what}: ${message}`, { cause: err });
}
