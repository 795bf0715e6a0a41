/**
 * Beacon bodies for `POST /v1/events`: what `navigator.sendBeacon` (and a `fetch` that
 * avoids a CORS preflight) can send cross-origin, `Content-Type: text/plain` (with or
 * without `;charset=UTF-8`), holding JSON or NDJSON. This middleware runs before the API
 * key check and hands the events route an ordinary JSON or NDJSON body, so every rule of
 * the body contract (limits, per-item results, 202 only after acks=all) applies unchanged.
 *
 * - JSON or NDJSON: a body that is one JSON value is JSON (an event or an array of
 *   events); any other body is read as NDJSON, one event per line (a bad line is then a
 *   per-item error, as for `application/x-ndjson`).
 * - The API key, for a client that cannot set headers: `?api_key=<key>`, or in the body:
 *   `{"api_key": "<key>", "events": [...]}` (JSON; `events` may also be one event), or a
 *   first NDJSON line `{"api_key": "<key>"}`. Indices in the answer count the events
 *   only. A key in a header or the query wins over one in the body.
 * - Size: the same body limit as every other body, checked while reading (and after
 *   gzip/deflate decompression).
 *
 * NOTE: the request's `Content-Type` is rewritten to the media type of what it holds
 * (`application/json` or `application/x-ndjson`, its parameters kept, so a charset other
 * than UTF-8 is still refused with 415 by the events route).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TextDecoder } from 'node:util';
import express from 'express';
import type { RequestHandler } from 'express';
import { countingEncodedBytes } from './encoded-length';
import { sendProblem } from './send-problem';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function beaconBody(maxBodyBytes: number): RequestHandler[] {
  const read = countingEncodedBytes(
    express.raw({ limit: maxBodyBytes, type: 'text/plain', inflate: true }),
  );
  const normalise: RequestHandler = (req, res, next) => {
    if (!req.is('text/plain') || !Buffer.isBuffer(req.body)) {
      next();
      return;
    }
    let text: string;
    try {
      text = utf8.decode(req.body);
    } catch {
      // the events route says what is wrong (invalid UTF-8) in its own words
      retype(req.headers, 'application/json');
      next();
      return;
    }
    const found = readBeacon(text);
    if ('problem' in found) {
      sendProblem(res, 'bad-request', found.problem);
      return;
    }
    const query = req.query.api_key;
    const hasKey =
      req.get('authorization') !== undefined ||
      req.get('x-api-key') !== undefined ||
      typeof query === 'string';
    if (found.key !== undefined && !hasKey) req.headers['x-api-key'] = found.key;
    if (found.body !== undefined) req.body = Buffer.from(found.body);
    retype(req.headers, found.kind === 'json' ? 'application/json' : 'application/x-ndjson');
    next();
  };
  return [read, normalise];
}

interface Beacon {
  kind: 'json' | 'ndjson';
  /** The key the body carried, if any. */
  key?: string;
  /** The body without its key, when it carried one. */
  body?: string;
}

/** What a text/plain body holds; exported for its unit test. */
export function readBeacon(text: string): Beacon | { problem: string } {
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    return readNdjson(text);
  }
  if (!isObject(whole) || !('api_key' in whole)) return { kind: 'json' };
  const { api_key: key, events } = whole;
  if (typeof key !== 'string' || key === '')
    return { problem: '"api_key" in the body must be a non-empty string.' };
  if (!isObject(events) && !Array.isArray(events))
    return {
      problem:
        'A body with "api_key" holds its events under "events" (an event or an array of events).',
    };
  return { kind: 'json', key, body: JSON.stringify(events) };
}

function readNdjson(text: string): Beacon {
  const start = text.search(/\S/);
  const end = text.indexOf('\n', start);
  const first = text.slice(start, end < 0 ? undefined : end);
  let line: unknown;
  try {
    line = JSON.parse(first);
  } catch {
    return { kind: 'ndjson' };
  }
  if (!isObject(line) || typeof line.api_key !== 'string' || Object.keys(line).length !== 1)
    return { kind: 'ndjson' };
  return { kind: 'ndjson', key: line.api_key, body: end < 0 ? '' : text.slice(end + 1) };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Gives the request the media type of its body, keeping the parameters (the charset).
 * NOTE: `Content-Encoding` and the counted compressed length stay (encoded-length.ts), so
 * the events route's decompression-ratio guard still applies (a body without its key is
 * no larger).
 */
function retype(headers: IncomingHttpHeaders, type: string): void {
  const params = (headers['content-type'] ?? '').replace(/^[^;]*/, '');
  headers['content-type'] = `${type}${params}`;
}
