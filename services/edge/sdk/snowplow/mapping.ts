/**
 * Snowplow tracker protocol payloads (one event's name-value pairs, all strings) into
 * Intake events (docs/api.md, "Snowplow"):
 *
 * - `id` = `eid` (without one the edge makes a UUIDv7);
 * - `key` = `uid`, else `duid`, else `nuid` / `tnuid`, else the collector's network user
 *   id (the `sp` cookie; none with `SP-Anonymous`);
 * - `type` by `e`: `pv` page_view, `pp` page_ping, `se` struct, `ue` the self-describing
 *   event's schema name (`iglu:com.acme/button_press/jsonschema/1-0-0` -> button_press),
 *   `tr` transaction, `ti` transaction_item; any other `e` as sent;
 * - `ts` = `ttm` (true timestamp), else `dtm` (device created), milliseconds -> ISO 8601;
 * - `data` = the whole payload, with the base64 fields decoded: `ue_px` becomes `ue_pr`
 *   and `cx` becomes `co`, both as JSON (as are `ue_pr` / `co` sent unencoded); plus
 *   what the pipeline's schemas read: `path` for a page view (the path of `url`), and
 *   `category` / `action` / `label` / `property` / `value` for a structured event; and
 *   `nuid` from the cookie when the payload had none.
 */
import type { IntakeEvent, Mapped } from '../store-mapped';
import { isObject } from '../store-mapped';
import { urlPath } from '../segment/mapping';

/** The tp2 body's schema, any 1-0-x revision. */
export const PAYLOAD_DATA_SCHEMA =
  /^iglu:com\.snowplowanalytics\.snowplow\/payload_data\/jsonschema\/1-0-\d+$/;

const TYPES: Record<string, string> = {
  pv: 'page_view',
  pp: 'page_ping',
  se: 'struct',
  tr: 'transaction',
  ti: 'transaction_item',
};

const IGLU = /^iglu:[^/]+\/([^/]+)\/[^/]+\/[^/]+$/;

/** The events of a tp2 body, or why it is not one. */
export function payloadEvents(body: Record<string, unknown>): unknown[] | string {
  if (typeof body.schema !== 'string' || !PAYLOAD_DATA_SCHEMA.test(body.schema))
    return 'The body is a payload_data self-describing JSON: {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4", "data": [events]}.';
  if (!Array.isArray(body.data) || body.data.length === 0)
    return '"data" must hold at least one event.';
  return body.data as unknown[];
}

/** Maps one payload; `networkUserId`: the collector's `sp` cookie (absent if anonymous). */
export function mapSnowplowPayload(payload: unknown, networkUserId?: string): Mapped {
  if (!isObject(payload)) return { ok: false, reason: 'an event must be a JSON object' };
  const e = payload.e;
  if (typeof e !== 'string' || e === '')
    return { ok: false, reason: '"e" (the event type) is required' };
  const data: Record<string, unknown> = { ...payload };
  for (const [encoded, plain] of [
    ['ue_px', 'ue_pr'],
    ['cx', 'co'],
  ] as const) {
    const decoded = decodeJsonField(payload, encoded, plain);
    if (typeof decoded === 'string') return { ok: false, reason: decoded };
    delete data[encoded];
    if (decoded.value !== undefined) data[plain] = decoded.value;
  }
  let type = TYPES[e] ?? e;
  if (e === 'ue') {
    const name = selfDescribingName(data.ue_pr);
    if (!name)
      return {
        ok: false,
        reason: 'a self-describing event (e=ue) needs ue_pr or ue_px with its schema',
      };
    type = name;
  } else if (e === 'pv') {
    const path = urlPath(payload.url);
    if (path !== undefined) data.path = path;
  } else if (e === 'se') {
    for (const [field, name] of [
      ['se_ca', 'category'],
      ['se_ac', 'action'],
      ['se_la', 'label'],
      ['se_pr', 'property'],
    ] as const)
      if (typeof payload[field] === 'string') data[name] = payload[field];
    const value = Number(payload.se_va);
    if (payload.se_va !== undefined && Number.isFinite(value)) data.value = value;
  }
  if (networkUserId !== undefined && payload.nuid === undefined) data.nuid = networkUserId;
  const event: IntakeEvent = { type, data };
  const key = [payload.uid, payload.duid, payload.nuid, payload.tnuid, networkUserId].find(
    (v): v is string => typeof v === 'string' && v !== '',
  );
  if (key !== undefined) event.key = key;
  if (typeof payload.eid === 'string' && payload.eid !== '') event.id = payload.eid;
  const ts = millis(payload.ttm) ?? millis(payload.dtm);
  if (ts !== undefined) event.ts = ts;
  return { ok: true, event };
}

/** `{ value }` of a JSON field sent base64url-encoded (`encoded`) or plain, or a reason. */
function decodeJsonField(
  payload: Record<string, unknown>,
  encoded: string,
  plain: string,
): { value: unknown } | string {
  const raw = payload[encoded] ?? payload[plain];
  if (raw === undefined) return { value: undefined };
  if (typeof raw !== 'string')
    return isObject(raw) ? { value: raw } : `"${encoded}" must be a string`;
  const text = payload[encoded] !== undefined ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return `"${payload[encoded] !== undefined ? encoded : plain}" is not ${payload[encoded] !== undefined ? 'base64 of ' : ''}JSON`;
  }
}

/** The event's name in `{"schema": unstruct_event, "data": {"schema": "iglu:v/name/f/v"}}`. */
function selfDescribingName(ue: unknown): string | undefined {
  if (!isObject(ue) || !isObject(ue.data) || typeof ue.data.schema !== 'string') return undefined;
  return IGLU.exec(ue.data.schema)?.[1];
}

/** Epoch milliseconds (a string or number) as ISO 8601, or undefined. */
function millis(v: unknown): string | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 8.64e15) return undefined;
  return new Date(n).toISOString();
}
