/**
 * The event envelope: what every record in `intake.raw` carries (DESIGN.md "Event
 * envelope"). The Kafka message key is the envelope's `key` (a visitor or device id,
 * falling back to the event id), so one visitor's events stay in order on one partition;
 * the id and source also travel as headers, so a consumer can route or deduplicate
 * without parsing the value. Downstream records keep the same `id`.
 */
import Ajv from 'ajv';
import type { OutRecord, RecordHeaders } from './kafka/port';
import { isoTime } from './clock';
import { HEADER_ID, HEADER_SOURCE, HEADER_TRACEPARENT } from './records/headers';
import { uuidv7 } from './uuid7';

export type Pattern = 'request-ack' | 'request-response' | 'one-way' | 'stream';

export interface Envelope {
  /** Client-supplied idempotency key, or a server-generated UUIDv7. */
  id: string;
  /** The producer, from its API key. */
  source: string;
  type: string;
  /** Partition key: visitor or device id; falls back to `id`. */
  key: string;
  /** Client timestamp (ISO 8601), when the client sent one. */
  ts?: string;
  /** Server receive time (ISO 8601). */
  receivedAt: string;
  pattern: Pattern;
  data: unknown;
  meta: RequestMeta;
  /** Request/response: the edge instance waiting for the outcome (see intake.replies). */
  replyTo?: string;
}

export interface RequestMeta {
  requestId?: string;
  ip?: string;
  userAgent?: string;
  traceparent?: string;
}

export interface WrapContext {
  source: string;
  pattern: Pattern;
  receivedAt: Date;
  meta: RequestMeta;
  replyTo?: string;
  /** The partition key of events that name none (the request's visitor id); called only then. */
  defaultKey?: () => string;
}

export type WrapResult = { ok: true; envelope: Envelope } | { ok: false; reason: string };

const MAX_ID_LENGTH = 128;
const shortString = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } as const;

/** The JSON Schema of a client event, compiled once. */
export const EVENT_SCHEMA = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: shortString,
    id: shortString,
    key: shortString,
    visitorId: shortString,
    deviceId: shortString,
    ts: { type: 'string', maxLength: 64 },
    data: {},
  },
} as const;

const validateEvent = new Ajv({ allErrors: false, strict: true }).compile(EVENT_SCHEMA);

function schemaReason(): string {
  const e = validateEvent.errors?.[0];
  if (!e) return 'invalid event';
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty?: string }).additionalProperty);
    return `unknown field "${extra.slice(0, 64)}": put the payload under "data"`;
  }
  const field = e.instancePath ? `"${e.instancePath.slice(1)}"` : 'an event';
  if (e.keyword === 'required')
    return `"${String((e.params as { missingProperty?: string }).missingProperty)}" is required`;
  if (e.keyword === 'type' && !e.instancePath) return 'an event must be a JSON object';
  return `${field} ${e.message ?? 'is invalid'} (strings: 1 to ${MAX_ID_LENGTH} characters)`;
}

/**
 * Wraps one client event into an envelope, or says why it cannot. An event is a JSON
 * object (checked against `EVENT_SCHEMA`) with a string `type`; optional `id` (kept as
 * the idempotency key), `key` / `visitorId` / `deviceId` (the partition key), `ts` (ISO
 * 8601) and `data` (any JSON). Unknown top-level fields are refused, so a misspelt field
 * is an error and not silently lost.
 */
export function wrapEvent(input: unknown, ctx: WrapContext, dataJson?: string): WrapResult {
  if (!validateEvent(input)) return { ok: false, reason: schemaReason() };
  const event = input as Record<string, unknown> & { type: string };
  if (event.ts !== undefined && Number.isNaN(Date.parse(event.ts as string))) {
    return { ok: false, reason: '"ts" must be an ISO 8601 timestamp' };
  }
  const fields = {
    id: event.id as string | undefined,
    key: (event.key ?? event.visitorId ?? event.deviceId) as string | undefined,
  };
  const id = fields.id ?? uuidv7(ctx.receivedAt.getTime());
  const envelope: Envelope = {
    id,
    source: ctx.source,
    type: event.type,
    key: fields.key ?? ctx.defaultKey?.() ?? id,
    receivedAt: isoTime(ctx.receivedAt),
    pattern: ctx.pattern,
    data: event.data ?? null,
    meta: ctx.meta,
  };
  if (typeof event.ts === 'string') envelope.ts = event.ts;
  if (ctx.replyTo !== undefined) envelope.replyTo = ctx.replyTo;
  if (dataJson !== undefined && event.data !== undefined) rememberDataJson(envelope, dataJson);
  return { ok: true, envelope };
}

/**
 * The JSON text of an envelope's `data`, when the caller already serialised it (the edge's
 * exact per-event size check): kept beside the envelope (a non-enumerable symbol, so it is
 * no field of the envelope for `JSON.stringify`, spreads or comparisons) and reused by
 * `envelopeJson`. The envelope's `data` must not change afterwards.
 */
const DATA_JSON = Symbol('intake.envelope.dataJson');
type WithDataJson = Envelope & { [DATA_JSON]?: string };

function rememberDataJson(envelope: Envelope, text: string): void {
  Object.defineProperty(envelope, DATA_JSON, { value: text });
}

/** Keys of the envelope as JSON, with their colon. */
const JSON_KEYS = new Map<string, string>();

/** Meta JSON shared by consecutive envelopes of one request (see `envelopeJson`). */
export interface MetaMemo {
  meta?: RequestMeta;
  json?: string;
}

/**
 * Exactly `JSON.stringify(envelope)` (same keys, order and text), cheaper: `data` is
 * serialised again only when its text was not kept by `wrapEvent`, and `meta`, which all
 * events of one request share, once per run of envelopes with the same meta object when
 * given a `memo` (for one synchronous loop: meta objects are not changed after wrapping).
 */
export function envelopeJson(envelope: Envelope, memo?: MetaMemo): string {
  const fields = envelope as unknown as Record<string, unknown>;
  let out = '{';
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined) continue;
    let text: string | undefined;
    if (k === 'data') {
      text = (envelope as WithDataJson)[DATA_JSON] ?? JSON.stringify(v);
    } else if (k === 'meta' && memo) {
      if (memo.meta !== v || memo.json === undefined) {
        memo.meta = v as RequestMeta;
        memo.json = JSON.stringify(v);
      }
      text = memo.json;
    } else {
      text = JSON.stringify(v);
    }
    if (text === undefined) continue; // as JSON.stringify: no function or symbol values
    let key = JSON_KEYS.get(k);
    if (key === undefined) {
      key = `${JSON.stringify(k)}:`;
      if (JSON_KEYS.size < 64) JSON_KEYS.set(k, key);
    }
    out += out.length === 1 ? key + text : `,${key}${text}`;
  }
  return `${out}}`;
}

export { HEADER_ID, HEADER_REPLY_TO, HEADER_SOURCE, HEADER_TRACEPARENT } from './records/headers';

/** The Kafka message for an envelope: key = envelope key, value = JSON, id/source/trace headers. */
export function toKafkaMessage(
  envelope: Envelope,
  extraHeaders?: RecordHeaders,
  memo?: MetaMemo,
): OutRecord {
  const headers: RecordHeaders = { [HEADER_ID]: envelope.id, [HEADER_SOURCE]: envelope.source };
  if (extraHeaders) Object.assign(headers, extraHeaders);
  if (envelope.meta.traceparent) headers[HEADER_TRACEPARENT] = envelope.meta.traceparent;
  return { key: envelope.key, value: envelopeJson(envelope, memo), headers };
}

/** Parses a record value back into an envelope; throws on a value that is not one. */
export function parseEnvelope(value: Buffer | string | null): Envelope {
  if (value === null) throw new Error('record has no value');
  const parsed: unknown = JSON.parse(value.toString());
  if (typeof parsed !== 'object' || parsed === null)
    throw new Error('record value is not an object');
  const e = parsed as Partial<Envelope>;
  if (typeof e.id !== 'string' || typeof e.type !== 'string' || typeof e.key !== 'string') {
    throw new Error('record value is not an Intake envelope (id, type, key)');
  }
  return parsed as Envelope;
}
