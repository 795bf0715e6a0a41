/**
 * The processed record: an event after the worker's pipeline, in `intake.processed`, keyed
 * by the event's key (its visitor or device id), with the event id in the `intake-id`
 * header. It is the raw envelope with what the steps add: `enriched` (the enrich step),
 * `propensity` (the score step), `processedAt` and `processedBy` (the pass-through step).
 * A user's own step may add other fields: they are kept, not checked. Written by the
 * worker, read by edges' subscriptions and downstream consumers: this is its one
 * definition.
 */
import { parseEnvelope } from '../envelope';
import type { Envelope } from '../envelope';
import { IntakeError } from '../errors';

/** Server-side facts the enrich step adds. */
export interface Enriched {
  processedAt: string;
  worker: string;
  /** Edge receive to worker processing, in milliseconds (null without a receive time). */
  latencyMs: number | null;
  userAgent: { browser: string | null; os: string | null; device: string | null } | null;
  /** The source's metadata from configuration. */
  source: Record<string, string>;
}

export interface ProcessedRecord extends Envelope {
  enriched?: Enriched;
  /** The visitor's purchase propensity after this event, in [0, 1]. */
  propensity?: number;
  processedAt?: string;
  processedBy?: string;
}

const PATTERNS: readonly string[] = ['request-ack', 'request-response', 'one-way', 'stream'];

/** The record's key: the event's partition key. */
export const processedKey = (r: ProcessedRecord): string => r.key;

export const encodeProcessed = (r: ProcessedRecord): Buffer => Buffer.from(JSON.stringify(r));

/** What a processed record can be written from without serialising it again. */
export interface RawEnvelope {
  /** The JSON text `record` was parsed from (`parseEnvelope`). */
  value: Buffer;
  /** The only fields set on the record since it was parsed, none of them in `value`. */
  adds: readonly string[];
}

const CLOSING_BRACE = 0x7d;
const isJsonSpace = (c: number | undefined): boolean =>
  c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The record as the raw text with its added fields appended: the same JSON value as
 * `encodeProcessed(r)` (and the same text when the raw text was `JSON.stringify`'s), the
 * raw fields as they were written. Falls back to `encodeProcessed` for a text that does
 * not end in a closing brace.
 */
export function encodeProcessedOver(r: ProcessedRecord, raw: RawEnvelope): Buffer {
  const { value } = raw;
  let end = value.length - 1;
  while (isJsonSpace(value[end])) end -= 1;
  if (value[end] !== CLOSING_BRACE) return encodeProcessed(r);
  let tail = '';
  const fields = r as unknown as Record<string, unknown>;
  for (const name of raw.adds) {
    const text = fields[name] === undefined ? undefined : JSON.stringify(fields[name]);
    if (text !== undefined) tail += `,${JSON.stringify(name)}:${text}`;
  }
  tail += '}';
  const out = Buffer.allocUnsafe(end + Buffer.byteLength(tail));
  value.copy(out, 0, 0, end);
  out.write(tail, end);
  return out;
}

/** A processed record read back from the topic; throws a `BAD_INPUT` error on anything else. */
export function parseProcessed(value: Buffer | string | null): ProcessedRecord {
  let r: ProcessedRecord;
  try {
    r = parseEnvelope(value);
  } catch (err) {
    throw new IntakeError('BAD_INPUT', `not a processed record: ${(err as Error).message}`);
  }
  const problem = problemOf(r);
  if (problem) throw new IntakeError('BAD_INPUT', `not a processed record: ${problem}`);
  return r;
}

function problemOf(r: ProcessedRecord): string | null {
  if (typeof r.source !== 'string') return 'source is not a string';
  if (typeof r.receivedAt !== 'string') return 'receivedAt is not a string';
  if (!PATTERNS.includes(r.pattern)) return "pattern is not one of Intake's";
  if (typeof r.meta !== 'object' || r.meta === null) return 'meta is not an object';
  if (r.propensity !== undefined && !(r.propensity >= 0 && r.propensity <= 1))
    return 'propensity is not in [0, 1]';
  for (const field of ['processedAt', 'processedBy'] as const)
    if (r[field] !== undefined && typeof r[field] !== 'string') return `${field} is not a string`;
  if (r.enriched !== undefined) {
    const e = r.enriched as Partial<Enriched> | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.processedAt !== 'string' ||
      typeof e.worker !== 'string' ||
      (e.latencyMs !== null && typeof e.latencyMs !== 'number') ||
      typeof e.source !== 'object' ||
      e.source === null
    )
      return "enriched is not the enrich step's";
  }
  return null;
}
