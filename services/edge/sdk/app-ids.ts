/**
 * Browser app ids: trackers in pages (Snowplow's browser tracker, the pixel) send no
 * secret, only their app id (`aid`), public like a browser write key. A source record's
 * `appIds` (docs/sources.md), and `INTAKE_BROWSER_APP_IDS` (`appId=source[,appId=source]`),
 * register app ids to sources; each app id is then checked like a key: its source, and its source's rate
 * limit (one bucket per app id, shared by the live edges as a key's is).
 */
import { createKeyChecker } from '../http/auth';
import type { ApiKey, AuthConfig, KeyChecker } from '../http/auth';
import { validateSource } from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';
import type { KeyIndex } from '../../../lib/sources/keys';

/** Parses `appId=source` entries; throws naming a bad one. */
export function parseBrowserAppIds(entries: string[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const entry of entries) {
    const match = /^([^=\s]+)=([^=\s]+)$/.exec(entry);
    if (!match)
      throw new Error(`INTAKE_BROWSER_APP_IDS entry "${entry.slice(0, 32)}" is not appId=source`);
    ids.set(match[1]!, match[2]!);
  }
  return ids;
}

/**
 * A checker of app ids (as `apiKey`) with the limits of `auth`. With `index` (the edge:
 * the sources' `appIds` as keys, `SourceBook.appIds`), an app id is looked up there, the
 * `appIds` given (`INTAKE_BROWSER_APP_IDS`) being passed to it as records of their own.
 */
export function appIdChecker(
  auth: AuthConfig,
  appIds: ReadonlyMap<string, string>,
  liveEdges?: () => number,
  index?: (listed: readonly SourceRecord[]) => KeyIndex,
): KeyChecker {
  const keys = new Map<string, ApiKey>();
  for (const [appId, source] of appIds)
    keys.set(appId, { source, enabled: true, topics: new Set() });
  if (!index) return createKeyChecker({ ...auth, keys, required: true }, liveEdges);
  const listed = [...appIds].map(([appId, source]) => listedAppId(appId, source));
  return createKeyChecker({ ...auth, keys, required: true, index: () => index(listed) }, liveEdges);
}

/**
 * An app id of `INTAKE_BROWSER_APP_IDS` as a record that lists only it (with the record's
 * defaults); a source name no record can have (lib/records/source.ts) throws.
 */
function listedAppId(appId: string, source: string): SourceRecord {
  const result = validateSource({
    name: source,
    enabled: true,
    keys: [],
    appIds: [appId],
    updatedAt: new Date(0).toISOString(),
    version: 1,
  });
  if (!result.ok)
    throw new Error(
      `INTAKE_BROWSER_APP_IDS: "${source.slice(0, 64)}" ${result.field} ${result.reason}`,
    );
  return result.source;
}
