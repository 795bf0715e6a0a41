/**
 * The changes an operator makes to a source (the CLI's `sources` commands and the admin
 * API do the same through these): each returns the next revision of the record
 * (`version` + 1, `updatedAt` now), validated (lib/records/source.ts), or the first bad
 * field as a JSON pointer into the record and why.
 *
 * - `createSource`: a new enabled source with one new key (printed once by the caller).
 * - `changeSource`: quotas, privacy, origins and app ids; only the settings given change.
 *   `redact` lists pointers whose fields are removed, `hash` pointers whose fields are
 *   hashed (a source gets its `hashKey` the first time it needs one); a setting given as
 *   null is unset (back to its default).
 * - `setEnabled`: disable (every key refused) or enable again.
 * - rotation is `rotateKey` (lib/sources/keys.ts).
 */
import { isoTime } from '../clock';
import { validateSource } from '../records/source';
import type { IpPolicy, OptOutPolicy, SourceRecord, SourceValidation } from '../records/source';
import { hashKey, newHashKey, newKey } from './keys';

/** What `changeSource` may change; absent: unchanged; null: back to the default. */
export interface SourceChange {
  perSecond?: number | null;
  burst?: number | null;
  perDay?: number | null;
  perDayGrace?: number | null;
  ip?: IpPolicy;
  userAgent?: 'keep' | 'drop';
  redact?: string[];
  hash?: string[];
  gpc?: OptOutPolicy;
  dnt?: OptOutPolicy;
  suppressed?: string[];
  origins?: string[];
  appIds?: string[];
}

export function createSource(name: string, now: number): { result: SourceValidation; key: string } {
  const key = newKey();
  const result = validateSource({
    name,
    enabled: true,
    keys: [{ hash: hashKey(key) }],
    updatedAt: isoTime(now),
    version: 1,
  });
  return { result, key };
}

/** Sets a field of `target`, or deletes it for null; undefined leaves it. */
function put<T extends object, K extends keyof T>(
  target: T,
  field: K,
  value: T[K] | null | undefined,
): void {
  if (value === undefined) return;
  if (value === null) delete target[field];
  else target[field] = value;
}

export function changeSource(
  source: SourceRecord,
  change: SourceChange,
  now: number,
): SourceValidation {
  const next: SourceRecord = structuredClone(source);
  const q = next.quotas;
  put(q, 'perSecond', change.perSecond);
  put(q, 'burst', change.burst);
  put(q, 'perDay', change.perDay);
  if (change.perDayGrace !== undefined) q.perDayGrace = change.perDayGrace ?? 0;
  const p = next.privacy;
  put(p, 'ip', change.ip);
  put(p, 'userAgent', change.userAgent);
  put(p, 'gpc', change.gpc);
  put(p, 'dnt', change.dnt);
  put(p, 'suppressed', change.suppressed);
  if (change.redact !== undefined || change.hash !== undefined) {
    const removed =
      change.redact ?? p.redact.filter((r) => r.mode === 'remove').map((r) => r.pointer);
    const hashed = change.hash ?? p.redact.filter((r) => r.mode === 'hash').map((r) => r.pointer);
    p.redact = [
      ...removed.map((pointer) => ({ pointer, mode: 'remove' as const })),
      ...hashed.map((pointer) => ({ pointer, mode: 'hash' as const })),
    ];
    if (hashed.length > 0) p.hashKey ??= newHashKey();
  }
  put(next, 'origins', change.origins);
  put(next, 'appIds', change.appIds);
  next.updatedAt = isoTime(now);
  next.version = source.version + 1;
  return validateSource(next);
}

export function setEnabled(source: SourceRecord, enabled: boolean, now: number): SourceRecord {
  return { ...source, enabled, updatedAt: isoTime(now), version: source.version + 1 };
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `0`, `90s`, `30m`, `24h` or `7d`, in ms; throws for anything else. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m)
    throw new Error(`"${text.slice(0, 32)}" is not a duration such as 0, 90s, 30m, 24h or 7d`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
