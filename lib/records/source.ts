/**
 * The source record: one producer's settings, in the compacted sources topic
 * (`intake.sources`), keyed by the source's name. A null value (a tombstone) means the
 * source was removed. Written by the CLI and the admin API, read by every edge (and
 * worker, where it matters): this is its one definition.
 *
 * The parser fills defaults for what a writer left out, so a minimal record
 * (`name`, `enabled`, `keys`, `updatedAt`, `version`) is a source that keeps today's
 * behaviour: no quota, every field kept, opt-out signals ignored. It refuses unknown
 * fields (a misspelt setting is an error, not silently lost) and names the first bad
 * field as a JSON pointer into the record (`/quotas/burst`), for the admin API's 400 and
 * for the log line of a reader that skips the record and keeps its last good settings.
 */
import Ajv from 'ajv';
import type { ErrorObject } from 'ajv';
import { IntakeError } from '../errors';

/** A key of the source, by its SHA-256 (hex): the key itself is never stored. */
export interface SourceKey {
  hash: string;
  /** Set by a rotation: the key works until then (ISO 8601), and not after. */
  expiresAt?: string;
  /** Topics this key may subscribe to (`*` for all); none: it can send, not subscribe. */
  topics?: string[];
}

/** Absent limits do not apply. Counted in events, across the whole fleet. */
export interface SourceQuotas {
  /** Events per second (a token bucket refilled at this rate). */
  perSecond?: number;
  /** The bucket's size: events admitted at once after a quiet time (default: one second's worth). */
  burst?: number;
  /** Events per UTC day. */
  perDay?: number;
  /** The fraction of `perDay` admitted beyond it before refusing (0.1: 10% over), default 0. */
  perDayGrace: number;
}

export type IpPolicy = 'keep' | 'truncate' | 'drop';
/** What a `Sec-GPC: 1` or `DNT: 1` request gets: anonymous (no visitor cookie, IP dropped) or nothing. */
export type OptOutPolicy = 'anonymous' | 'ignore';

export interface Redaction {
  /** An RFC 6901 JSON pointer into the event's `data` (`/user/email`). */
  pointer: string;
  /** `remove` the field, or replace it by its keyed hash (HMAC-SHA256 with `hashKey`, hex). */
  mode: 'remove' | 'hash';
}

export interface PrivacyPolicy {
  /** The client IP: kept, truncated (IPv4 /24, IPv6 /48) or dropped. */
  ip: IpPolicy;
  userAgent: 'keep' | 'drop';
  redact: Redaction[];
  gpc: OptOutPolicy;
  dnt: OptOutPolicy;
  /** Event keys (visitor or user ids) that opted out: their events are accepted and dropped. */
  suppressed: string[];
  /** The source's key for hashed fields (32 random bytes, base64url); required by a `hash` redaction. */
  hashKey?: string;
}

export interface SourceRecord {
  name: string;
  /** A disabled source's keys are refused (403). */
  enabled: boolean;
  keys: SourceKey[];
  /** Browser origins allowed to send (`https://shop.example`, or `*`); none: any. */
  origins: string[];
  /** App ids the source's browser and mobile trackers send (e.g. Snowplow's `aid`); none: any. */
  appIds: string[];
  quotas: SourceQuotas;
  privacy: PrivacyPolicy;
  updatedAt: string;
  /** The record's revision: each write of the source is the previous one plus 1. */
  version: number;
}

/** Limits of a record, so one source cannot grow the topic or an edge's memory without bound. */
export const SOURCE_LIMITS = { keys: 16, origins: 64, appIds: 64, redact: 64, suppressed: 10_000 };

const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const shortString = { type: 'string', minLength: 1, maxLength: 128 } as const;
const strings = (maxItems: number, item: object) =>
  ({ type: 'array', default: [], maxItems, items: item }) as const;
const oneOf = (values: readonly string[], fallback: string) =>
  ({ type: 'string', enum: values, default: fallback }) as const;

/** The JSON Schema of a source record, compiled once. */
export const SOURCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'enabled', 'keys', 'updatedAt', 'version'],
  properties: {
    name: {
      type: 'string',
      pattern: NAME,
      description: 'letters, digits, ".", "_" or "-", up to 64',
    },
    enabled: { type: 'boolean' },
    keys: {
      type: 'array',
      maxItems: SOURCE_LIMITS.keys,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['hash'],
        properties: {
          hash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'a SHA-256 in hex' },
          expiresAt: { type: 'string', format: 'date-time' },
          topics: {
            type: 'array',
            maxItems: 64,
            items: {
              type: 'string',
              pattern: '^(\\*|[A-Za-z0-9._-]{1,249})$',
              description: 'a topic name or *',
            },
          },
        },
      },
    },
    origins: strings(SOURCE_LIMITS.origins, {
      type: 'string',
      maxLength: 256,
      pattern: '^(\\*|https?://[^/?#\\s]+)$',
      description: 'an origin (https://host[:port]) or *',
    }),
    appIds: strings(SOURCE_LIMITS.appIds, shortString),
    quotas: {
      type: 'object',
      default: {},
      additionalProperties: false,
      dependencies: { burst: ['perSecond'] },
      properties: {
        perSecond: { type: 'number', exclusiveMinimum: 0 },
        burst: { type: 'integer', minimum: 1 },
        perDay: { type: 'integer', minimum: 0 },
        perDayGrace: { type: 'number', minimum: 0, maximum: 1, default: 0 },
      },
    },
    privacy: {
      type: 'object',
      default: {},
      additionalProperties: false,
      properties: {
        ip: oneOf(['keep', 'truncate', 'drop'], 'keep'),
        userAgent: oneOf(['keep', 'drop'], 'keep'),
        redact: strings(SOURCE_LIMITS.redact, {
          type: 'object',
          additionalProperties: false,
          required: ['pointer'],
          properties: {
            pointer: {
              type: 'string',
              maxLength: 512,
              pattern: '^(/([^~/]|~[01])*)+$',
              description: 'a JSON pointer into data, such as /user/email',
            },
            mode: oneOf(['remove', 'hash'], 'remove'),
          },
        }),
        gpc: oneOf(['anonymous', 'ignore'], 'ignore'),
        dnt: oneOf(['anonymous', 'ignore'], 'ignore'),
        suppressed: strings(SOURCE_LIMITS.suppressed, shortString),
        hashKey: {
          type: 'string',
          pattern: '^[A-Za-z0-9_-]{43}$',
          description: '32 bytes in base64url',
        },
      },
    },
    updatedAt: { type: 'string', format: 'date-time' },
    version: { type: 'integer', minimum: 1 },
  },
} as const;

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const ajv = new Ajv({ allErrors: false, strict: true, useDefaults: true, verbose: true });
ajv.addFormat('date-time', (s: string) => ISO_UTC.test(s) && !Number.isNaN(Date.parse(s)));
const validate = ajv.compile(SOURCE_SCHEMA);

export type SourceValidation =
  { ok: true; source: SourceRecord } | { ok: false; field: string; reason: string };

/** The field an ajv error is about, as a JSON pointer, and what is wrong with it. */
function describe(e: ErrorObject): { field: string; reason: string } {
  const params = e.params as {
    missingProperty?: string;
    additionalProperty?: string;
    property?: string;
  };
  if (e.keyword === 'required' || e.keyword === 'dependencies')
    return {
      field: `${e.instancePath}/${params.missingProperty}`,
      reason: params.property ? `is required with ${params.property}` : 'is required',
    };
  if (e.keyword === 'additionalProperties')
    return {
      field: `${e.instancePath}/${String(params.additionalProperty).slice(0, 64)}`,
      reason: 'is not a setting of a source',
    };
  const field = e.instancePath || '/';
  if (e.keyword === 'enum')
    return { field, reason: `must be one of ${(e.schema as string[]).join(', ')}` };
  const described = (e.parentSchema as { description?: string } | undefined)?.description;
  if (e.keyword === 'pattern' && described) return { field, reason: `must be ${described}` };
  return { field, reason: e.message ?? 'is invalid' };
}

/** Checks ajv cannot express: normal origins, a key for hashing, each key hash once. */
function semanticProblem(s: SourceRecord): { field: string; reason: string } | null {
  for (const [i, origin] of s.origins.entries()) {
    if (origin === '*') continue;
    if (!URL.canParse(origin)) return { field: `/origins/${i}`, reason: 'is not an origin' };
    const normal = new URL(origin).origin;
    if (normal !== origin) return { field: `/origins/${i}`, reason: `must be written ${normal}` };
  }
  if (s.privacy.hashKey === undefined && s.privacy.redact.some((r) => r.mode === 'hash'))
    return { field: '/privacy/hashKey', reason: 'is required by a redaction with mode "hash"' };
  const hashes = s.keys.map((k) => k.hash);
  const twice = hashes.findIndex((h, i) => hashes.indexOf(h) !== i);
  if (twice >= 0) return { field: `/keys/${twice}/hash`, reason: 'is listed twice' };
  return null;
}

/**
 * A source record from any value (an admin request's body, a parsed topic value), with
 * its defaults filled in, or the first bad field and why. The value is not changed.
 */
export function validateSource(value: unknown): SourceValidation {
  let copy: unknown;
  try {
    copy = structuredClone(value);
  } catch {
    return { ok: false, field: '/', reason: 'is not JSON' };
  }
  if (!validate(copy)) return { ok: false, ...describe(validate.errors![0]!) };
  const source = copy as SourceRecord;
  const problem = semanticProblem(source);
  return problem ? { ok: false, ...problem } : { ok: true, source };
}

export const encodeSource = (source: SourceRecord): string => JSON.stringify(source);

/**
 * The source a record of the topic holds, or null for a tombstone (the source was
 * removed). Throws a `BAD_INPUT` error naming the bad field for anything else, including
 * a record whose `name` is not its key (a reader skips it and keeps its last good settings).
 */
export function parseSource(key: string, value: Buffer | string | null): SourceRecord | null {
  if (value === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch {
    throw new IntakeError('BAD_INPUT', `source record "${key.slice(0, 64)}" is not JSON`);
  }
  const result = validateSource(parsed);
  if (!result.ok)
    throw new IntakeError(
      'BAD_INPUT',
      `source record "${key.slice(0, 64)}": ${result.field} ${result.reason}`,
    );
  if (result.source.name !== key)
    throw new IntakeError(
      'BAD_INPUT',
      `source record "${key.slice(0, 64)}": /name is not the record's key`,
    );
  return result.source;
}
