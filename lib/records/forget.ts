/**
 * The forget record: "forget this visitor" for one source, in the compacted forget topic
 * keyed `<source>/<key>` (`key` being the event key: a visitor or user id). From then on
 * the key is suppressed at the edge (its events are accepted and dropped), and the
 * workers drop its state. A null value (a tombstone) lifts the suppression. Written by
 * the CLI and the admin API, read by edges and workers: this is its one definition.
 */
import { IntakeError } from '../errors';

export interface ForgetRecord {
  source: string;
  /** The event key (visitor or user id) to forget. */
  key: string;
  /** When it was asked for (ISO 8601). */
  at: string;
}

/** A source name has no `/` (lib/records/source.ts), so the first `/` ends it. */
export const forgetKey = (source: string, key: string): string => `${source}/${key}`;

export const encodeForget = (r: ForgetRecord): string =>
  JSON.stringify({ source: r.source, key: r.key, at: r.at });

/**
 * The forget request a record holds, or null for a tombstone (the suppression is lifted).
 * Throws a `BAD_INPUT` error for anything else, including a record that is not under
 * its own `<source>/<key>` (a reader skips it).
 */
export function parseForget(recordKey: string, value: Buffer | string | null): ForgetRecord | null {
  if (value === null) return null;
  let v: Partial<ForgetRecord> | null = null;
  try {
    v = JSON.parse(value.toString()) as Partial<ForgetRecord> | null;
  } catch {
    // refused below
  }
  if (
    typeof v?.source !== 'string' ||
    typeof v.key !== 'string' ||
    typeof v.at !== 'string' ||
    v.source === '' ||
    v.key === '' ||
    forgetKey(v.source, v.key) !== recordKey
  )
    throw new IntakeError('BAD_INPUT', `forget record "${recordKey.slice(0, 64)}" is not valid`);
  return { source: v.source, key: v.key, at: v.at };
}
