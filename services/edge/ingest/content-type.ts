/**
 * The one place that decides which request bodies the edge reads as events, from their
 * `Content-Type`:
 *
 * - `application/json`: one event (an object) or an array of events;
 * - `application/x-ndjson`: one event per line.
 *
 * A `charset` other than UTF-8 is refused (415). The HTTP body reader buffers only
 * these types (`EVENT_CONTENT_TYPES`); anything else is answered 415 without reading it.
 */
import type { BodyFormat } from './body';

/** The media types whose bodies are read (and decompressed) as events. */
export const EVENT_CONTENT_TYPES: readonly string[] = ['application/json', 'application/x-ndjson'];

export type ContentTypeResult = { ok: true; format: BodyFormat } | { ok: false; detail: string };

export const UNSUPPORTED_DETAIL =
  'Send events as application/json (an object or an array) or application/x-ndjson.';

/** The body format a `Content-Type` header names, or why the edge does not read it. */
export function bodyFormatOf(contentType: string | undefined): ContentTypeResult {
  if (!contentType) return { ok: false, detail: UNSUPPORTED_DETAIL };
  const semi = contentType.indexOf(';');
  const mediaType = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  let format: BodyFormat;
  if (mediaType === 'application/json') format = 'json';
  else if (mediaType === 'application/x-ndjson') format = 'ndjson';
  else return { ok: false, detail: UNSUPPORTED_DETAIL };
  if (semi >= 0) {
    const charset = /charset=([^;]+)/i.exec(contentType)?.[1]?.trim().toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      return { ok: false, detail: `Events must be UTF-8, not ${charset.slice(0, 32)}.` };
    }
  }
  return { ok: true, format };
}
