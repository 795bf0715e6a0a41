/**
 * What a `POST /v1/events` request asks for, read from its headers and query before its
 * body: the body format (ingest/content-type.ts) and the answer mode:
 *
 * - no query: request/acknowledge (`202` once durable);
 * - `wait=processed` (optionally `timeout=<ms>`): request/response; it wins over `ack=none`;
 * - `ack=none`: one-way (`204` at once).
 *
 * Anything else in the query is a 400, so a misspelt mode is never silently ignored.
 */
import type { Request } from 'express';
import type { Pattern } from '../../../lib/envelope';
import type { ProblemType } from '../../../lib/http/problem';
import type { BodyFormat } from '../ingest/body';
import { UNSUPPORTED_DETAIL, bodyFormatOf } from '../ingest/content-type';
import { encodedLength } from './encoded-length';

export interface EventsRequest {
  format: BodyFormat;
  pattern: Pattern;
  /** Request/response: the wait the client asked for (ms), if any. */
  timeoutMs?: number;
  /** The compressed length of an encoded body (for the expansion-ratio guard), else null: encoded-length.ts. */
  encodedLength: number | null;
}

export type ReadResult =
  { ok: true; request: EventsRequest } | { ok: false; problem: ProblemType; detail: string };

const BAD_QUERY =
  'Unknown query: use `wait=processed` (request/response, optionally `timeout=<ms>`) or `ack=none` (one-way).';
const TIMEOUT = /^[1-9][0-9]{0,8}$/;

export function readEventsRequest(req: Request): ReadResult {
  const type = bodyFormatOf(req.headers['content-type']);
  if (!type.ok || !Buffer.isBuffer(req.body)) {
    return {
      ok: false,
      problem: 'unsupported-media-type',
      detail: type.ok ? UNSUPPORTED_DETAIL : type.detail,
    };
  }
  let pattern: Pattern = 'request-ack';
  let timeoutMs: number | undefined;
  // NOTE: most requests carry no query; express parses it lazily only when read.
  if (req.url.includes('?')) {
    const { wait, ack, timeout } = req.query;
    if (
      (wait !== undefined && wait !== 'processed') ||
      (ack !== undefined && ack !== 'none') ||
      (timeout !== undefined && !(typeof timeout === 'string' && TIMEOUT.test(timeout)))
    ) {
      return { ok: false, problem: 'bad-request', detail: BAD_QUERY };
    }
    if (wait === 'processed') pattern = 'request-response';
    else if (ack === 'none') pattern = 'one-way';
    if (typeof timeout === 'string') timeoutMs = Number(timeout);
  }
  return {
    ok: true,
    request: {
      format: type.format,
      pattern,
      timeoutMs,
      encodedLength: encodedLength(req),
    },
  };
}
