/**
 * `INTAKE_API_KEYS` as source records, so today's configuration keeps working once
 * sources are data: each `source:key[:topic+topic]` entry becomes its key's hash under its
 * source, with the topics it may subscribe to.
 *
 * Seeding only creates: a source the topic already holds is left as it is, so a restart
 * never undoes what an operator did since (a rotation, a disable, a new quota). The topic is
 * the source of truth: a key listed for a held source that the record does not hold (or
 * holds expired) is not applied and is refused; `seedKeysNotApplied` names those sources,
 * for the edge to warn about at start. A seeded
 * source has the defaults (no quota, nothing redacted). It is enabled unless every key
 * listed for it is disabled (`!source:key`), in which case its keys are kept and answer
 * "disabled"; a disabled key of an enabled source is left out (it answers "unknown": 403
 * either way).
 */
import { IntakeError } from '../errors';
import { validateSource } from '../records/source';
import type { SourceKey, SourceRecord } from '../records/source';
import { isoTime } from '../clock';
import { hashKey } from './keys';

/** One key as `INTAKE_API_KEYS` lists it (the edge's `parseApiKeys`, by key). */
export interface ListedKey {
  source: string;
  enabled: boolean;
  topics: ReadonlySet<string>;
}

/**
 * The records to write for the listed keys' sources the topic does not hold (`held`),
 * validated; throws `CONFIG_INVALID` naming a source that cannot be one (a bad name, more
 * keys than a record holds).
 */
export function seedSources(
  keys: ReadonlyMap<string, ListedKey>,
  held: (name: string) => boolean,
  now: number,
): SourceRecord[] {
  const bySource = new Map<string, { key: SourceKey; enabled: boolean }[]>();
  for (const [key, listed] of keys) {
    if (held(listed.source)) continue;
    const topics = [...listed.topics];
    const entry = { hash: hashKey(key), ...(topics.length > 0 ? { topics } : {}) };
    const list = bySource.get(listed.source) ?? [];
    list.push({ key: entry, enabled: listed.enabled });
    bySource.set(listed.source, list);
  }
  return [...bySource].map(([name, listed]) => {
    const enabled = listed.some((k) => k.enabled);
    const result = validateSource({
      name,
      enabled,
      keys: listed.filter((k) => k.enabled === enabled).map((k) => k.key),
      updatedAt: isoTime(now),
      version: 1,
    });
    if (!result.ok)
      throw new IntakeError(
        'CONFIG_INVALID',
        `INTAKE_API_KEYS: source "${name.slice(0, 64)}" cannot be seeded: ${result.field} ${result.reason}`,
      );
    return result.source;
  });
}

/**
 * The sources the topic holds (`held`) for which `keys` lists an enabled key the record
 * does not accept at `now` (not among its keys, or expired): seeding leaves them as they
 * are, so that key is refused. Names only, each once: never a key or its hash.
 */
export function seedKeysNotApplied(
  keys: ReadonlyMap<string, ListedKey>,
  held: (name: string) => SourceRecord | undefined,
  now: number,
): string[] {
  const names = new Set<string>();
  for (const [key, listed] of keys) {
    const source = listed.enabled ? held(listed.source) : undefined;
    if (!source) continue;
    const hash = hashKey(key);
    const kept = source.keys.some(
      (k) => k.hash === hash && (k.expiresAt === undefined || Date.parse(k.expiresAt) > now),
    );
    if (!kept) names.add(listed.source);
  }
  return [...names];
}
