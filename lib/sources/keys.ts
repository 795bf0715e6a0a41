/**
 * Source keys: made here, stored only as their SHA-256 (lib/records/source.ts), found by
 * that hash.
 *
 * - A new key is `ik_` and 32 random bytes (base64url): high-entropy, so an unsalted
 *   SHA-256 is enough to store it (nothing to guess from the hash) and fast enough to
 *   check on every request.
 * - Lookup hashes the presented key and finds the hash in a map. Its timing depends on the
 *   hash, never on how much of a stored key the caller guessed right, and a caller cannot
 *   choose a hash without a preimage: there is no timing oracle on the keys.
 * - Rotation adds a new key and gives every current key an `expiresAt` (now + grace, or
 *   sooner if it already had one): the old key works until then, and not after. A rotation
 *   drops keys that already expired, so a source's list stays short.
 * - A hash listed by two sources authenticates neither (a conflict an operator must fix,
 *   reported by `KeyIndex.conflicts`), so no event is ever credited to the wrong source.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isoTime } from '../clock';
import { SOURCE_LIMITS } from '../records/source';
import type { SourceRecord } from '../records/source';

export const KEY_PREFIX = 'ik_';

/** A new key: printed once to its owner, then only its hash is kept. */
export const newKey = (): string => KEY_PREFIX + randomBytes(32).toString('base64url');

/** How a key is stored: its SHA-256, in hex. */
export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** A key for a source's hashed fields (`privacy.hashKey`): 32 random bytes, base64url. */
export const newHashKey = (): string => randomBytes(32).toString('base64url');

export type KeyMatch =
  | { kind: 'ok'; source: SourceRecord; topics: ReadonlySet<string> }
  | { kind: 'unknown' }
  | { kind: 'expired'; source: SourceRecord }
  | { kind: 'disabled'; source: SourceRecord };

interface Entry {
  source: SourceRecord;
  /** Epoch ms; Infinity for a key that does not expire. */
  expiresAt: number;
  topics: ReadonlySet<string>;
}

/** The keys of all sources by hash, built from the latest source records. */
export class KeyIndex {
  private readonly byHash = new Map<string, Entry>();
  /** Hashes listed by more than one source: they authenticate none. */
  readonly conflicts: readonly string[];

  constructor(sources: Iterable<SourceRecord>) {
    const conflicting = new Set<string>();
    for (const source of sources) {
      for (const key of source.keys) {
        if (this.byHash.has(key.hash)) conflicting.add(key.hash);
        this.byHash.set(key.hash, {
          source,
          expiresAt: key.expiresAt === undefined ? Infinity : Date.parse(key.expiresAt),
          topics: new Set(key.topics ?? []),
        });
      }
    }
    for (const hash of conflicting) this.byHash.delete(hash);
    this.conflicts = [...conflicting];
  }

  /** The source a presented key belongs to, at `now` (epoch ms). */
  lookup(key: string, now: number): KeyMatch {
    return this.lookupHash(hashKey(key), now);
  }

  /** As `lookup`, for a key already hashed (a caller may keep recent hashes). */
  lookupHash(hash: string, now: number): KeyMatch {
    const entry = this.byHash.get(hash);
    if (!entry) return { kind: 'unknown' };
    if (!entry.source.enabled) return { kind: 'disabled', source: entry.source };
    if (now >= entry.expiresAt) return { kind: 'expired', source: entry.source };
    return { kind: 'ok', source: entry.source, topics: entry.topics };
  }
}

/**
 * The source with a new key (returned, to print once) and its current keys expiring
 * `graceMs` after `now` (or sooner, if they already did): the next revision of the record.
 * The new key may subscribe to what the keys it replaces could. The record keeps its
 * newest keys when it cannot hold them all (`SOURCE_LIMITS.keys`).
 */
export function rotateKey(
  source: SourceRecord,
  now: number,
  graceMs: number,
): { source: SourceRecord; key: string } {
  const key = newKey();
  const until = now + Math.max(0, graceMs);
  const current = source.keys.filter(
    (k) => k.expiresAt === undefined || Date.parse(k.expiresAt) > now,
  );
  const topics = [...new Set(current.flatMap((k) => k.topics ?? []))];
  // Only the newest, when the record cannot hold them all.
  const kept =
    graceMs > 0
      ? current.slice(1 - SOURCE_LIMITS.keys).map((k) => ({
          ...k,
          expiresAt: isoTime(
            k.expiresAt === undefined ? until : Math.min(until, Date.parse(k.expiresAt)),
          ),
        }))
      : [];
  const fresh = { hash: hashKey(key), ...(topics.length > 0 ? { topics } : {}) };
  return {
    key,
    source: {
      ...source,
      keys: [...kept, fresh],
      updatedAt: isoTime(now),
      version: source.version + 1,
    },
  };
}
