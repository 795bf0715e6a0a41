/**
 * Segment's HTTP Tracking API messages into Intake events (docs/api.md, "Segment"):
 *
 * - `id` = `messageId` (a retried message is the same event; without one the edge makes
 *   a UUIDv7, as Segment's own API does);
 * - `key` = `userId`, else `anonymousId` (one of them is required, as Segment requires);
 * - `type` = the event name for `track`, else the call type (`identify`, `page`,
 *   `screen`, `group`, `alias`);
 * - `ts` = `timestamp`, else `originalTimestamp`;
 * - `data` = the whole message as sent (properties, traits, context, integrations...),
 *   with its `type`; a `page` or `screen` also gets `data.path`: `properties.path`, else
 *   `context.page.path`, else the path of `properties.url` / `context.page.url`, else the
 *   screen's `name` (for the pipeline's page schemas).
 *
 * A message over `MAX_MESSAGE_BYTES` (Segment's 32 KB) is not mapped here: the route
 * answers the whole request 400, as Segment does.
 */
import type { IntakeEvent, Mapped } from '../store-mapped';
import { isObject } from '../store-mapped';

export const SEGMENT_CALLS = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentCall = (typeof SEGMENT_CALLS)[number];

/** Segment's limits: 32 KB per message, 500 KB per batch request (then 400). */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;

const isCall = (v: unknown): v is SegmentCall =>
  typeof v === 'string' && (SEGMENT_CALLS as readonly string[]).includes(v);

/** A Segment id: a non-empty string, or a number (Segment accepts both). */
function idText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Maps one message. `call`: the call of a single-message route (`/v1/track`...), which
 * wins over the message's own `type`; in a batch, the message's `type` says it.
 */
export function mapSegmentMessage(message: unknown, call?: SegmentCall): Mapped {
  if (!isObject(message)) return { ok: false, reason: 'a message must be a JSON object' };
  const type = call ?? message.type;
  if (!isCall(type))
    return {
      ok: false,
      reason: `"type" must be one of ${SEGMENT_CALLS.join(', ')}`,
    };
  const key = idText(message.userId) ?? idText(message.anonymousId);
  if (key === undefined) return { ok: false, reason: '"userId" or "anonymousId" is required' };
  let name: string = type;
  if (type === 'track') {
    if (typeof message.event !== 'string' || message.event === '')
      return { ok: false, reason: 'a track message needs its "event" name' };
    name = message.event;
  }
  if (message.messageId !== undefined && idText(message.messageId) === undefined)
    return { ok: false, reason: '"messageId" must be a non-empty string' };
  const ts = message.timestamp ?? message.originalTimestamp;
  if (ts !== undefined && (typeof ts !== 'string' || Number.isNaN(Date.parse(ts))))
    return { ok: false, reason: '"timestamp" must be an ISO 8601 date' };
  const data: Record<string, unknown> = { ...message, type };
  if (type === 'page' || type === 'screen') {
    const path = pagePath(message, type);
    if (path !== undefined && data.path === undefined) data.path = path;
  }
  const event: IntakeEvent = { type: name, key, data };
  const id = idText(message.messageId);
  if (id !== undefined) event.id = id;
  if (typeof ts === 'string') event.ts = ts;
  return { ok: true, event };
}

const MAX_PATH = 2048;

/** The page's path, from the places Segment's SDKs put it. */
function pagePath(message: Record<string, unknown>, type: SegmentCall): string | undefined {
  const properties = isObject(message.properties) ? message.properties : {};
  const context = isObject(message.context) ? message.context : {};
  const page = isObject(context.page) ? context.page : {};
  for (const candidate of [properties.path, page.path]) {
    if (typeof candidate === 'string' && candidate !== '') return candidate.slice(0, MAX_PATH);
  }
  for (const url of [properties.url, page.url]) {
    const path = urlPath(url);
    if (path !== undefined) return path;
  }
  if (type === 'screen' && typeof message.name === 'string' && message.name !== '')
    return message.name.slice(0, MAX_PATH);
  return undefined;
}

/** The path of an absolute URL, or undefined. */
export function urlPath(url: unknown): string | undefined {
  if (typeof url !== 'string' || url === '') return undefined;
  try {
    return new URL(url).pathname.slice(0, MAX_PATH) || '/';
  } catch {
    return undefined;
  }
}
