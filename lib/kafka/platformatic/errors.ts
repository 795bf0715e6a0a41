/**
 * @platformatic/kafka's errors translated into Intake's (lib/errors.ts) at the boundary,
 * by the broker's error names (`apiId`, table in ../broker-errors.ts) found in the error,
 * the errors it aggregates (`errors`) or wraps (`cause`). Every call of the adapter goes
 * through `translated`, so no client error reaches a caller.
 */
import type { ErrorCode } from '../../errors';
import { codeOfBrokerErrors, errorTranslation } from '../broker-errors';

/** The Intake code of a @platformatic/kafka error. */
export function platformaticCode(err: unknown): ErrorCode {
  const names: string[] = [];
  const seen: unknown[] = [err];
  for (let i = 0; i < seen.length && i < 64; i++) {
    const e = seen[i] as PlatformaticError | null | undefined;
    if (typeof e?.apiId === 'string') names.push(e.apiId);
    if (e?.producerFenced === true) names.push('PRODUCER_FENCED');
    if (e?.needsRejoin === true) names.push('UNKNOWN_MEMBER_ID');
    if (Array.isArray(e?.errors)) seen.push(...e.errors);
    if (e?.cause) seen.push(e.cause);
  }
  return codeOfBrokerErrors(names);
}

/**
 * The error's message and, for a failure after retries (`errors`), the distinct messages
 * of the failures it gathers (at most three), which say why: "commit failed 6 times."
 * alone does not.
 */
export function platformaticMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const inner = new Set<string>();
  const seen: unknown[] = [...((err as PlatformaticError | null)?.errors ?? [])];
  for (let i = 0; i < seen.length && i < 64 && inner.size < 3; i++) {
    const e = seen[i] as PlatformaticError | null | undefined;
    if (Array.isArray(e?.errors) && e.errors.length > 0) seen.push(...e.errors);
    else if (e instanceof Error) inner.add(e.message);
  }
  return inner.size > 0 ? `${message} (${[...inner].join('; ')})` : message;
}

export const { translate, translated } = errorTranslation(platformaticCode, platformaticMessage);

interface PlatformaticError {
  apiId?: unknown;
  producerFenced?: unknown;
  needsRejoin?: unknown;
  errors?: unknown[];
  cause?: unknown;
}
