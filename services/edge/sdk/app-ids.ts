/**
 * Browser app ids: trackers in pages (Snowplow's browser tracker, the pixel) send no
 * secret, only their app id (`aid`), public like a browser write key. Until sources are
 * data, `INTAKE_BROWSER_APP_IDS` (`appId=source[,appId=source]`) registers app ids to
 * sources; each app id is then checked like a key: its source, and its source's rate
 * limit (one bucket per app id, shared by the live edges as a key's is).
 */
import { createKeyChecker } from '../http/auth';
import type { ApiKey, AuthConfig, KeyChecker } from '../http/auth';

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

/** A checker of app ids (as `apiKey`) with the limits of `auth`. */
export function appIdChecker(
  auth: AuthConfig,
  appIds: ReadonlyMap<string, string>,
  liveEdges?: () => number,
): KeyChecker {
  const keys = new Map<string, ApiKey>();
  for (const [appId, source] of appIds)
    keys.set(appId, { source, enabled: true, topics: new Set() });
  return createKeyChecker({ ...auth, keys, required: true }, liveEdges);
}
