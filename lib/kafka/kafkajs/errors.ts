/**
 * kafkajs' errors translated into Intake's (lib/errors.ts) at the boundary, by the
 * broker's error name (`type`, table in ../broker-errors.ts) found in the error or the
 * errors it wraps (`cause`: kafkajs wraps what its retries gave up on); kafkajs' own
 * wordings of a fenced producer or a lost membership count too, for its errors that carry
 * no broker error name. Every call of the adapter
 * goes through `translated`, so no kafkajs error reaches a caller.
 */
import type { ErrorCode } from '../../errors';
import { BROKER_ERROR_CODES, errorTranslation } from '../broker-errors';

const BY_MESSAGE: [RegExp, ErrorCode][] = [
  [/fence|epoch|concurrent operation on the same transaction/i, 'KAFKA_FENCED'],
  [/not aware of this member|generation/i, 'KAFKA_NOT_MEMBER'],
];

/** The Intake code of a kafkajs error. */
export function kafkajsCode(err: unknown): ErrorCode {
  for (let e = err as KafkajsError | undefined, depth = 0; e && depth < 8; depth++) {
    if (e.type !== undefined) {
      // A broker error: its name decides (not its wording: FENCED_LEADER_EPOCH is no fencing).
      const byType = BROKER_ERROR_CODES[e.type];
      if (byType) return byType;
    } else {
      for (const [pattern, code] of BY_MESSAGE) if (pattern.test(e.message ?? '')) return code;
    }
    e = e.cause;
  }
  return 'KAFKA_UNAVAILABLE';
}

export const { translate, translated } = errorTranslation(kafkajsCode);

interface KafkajsError {
  type?: string;
  message?: string;
  cause?: KafkajsError;
}
