/**
 * Turns a request body (already size-limited and decompressed by the body reader) into
 * the list of items it holds, or says precisely why it cannot:
 *
 * - `application/json`: one event (an object) or an array of events;
 * - `application/x-ndjson`: one event per line (blank lines ignored); a line that is not
 *   JSON is a per-item error, the other lines still count.
 *
 * Guards, each answered with a 4xx and never a crash: invalid UTF-8, empty bodies,
 * nesting deeper than `maxDepth`, `__proto__` / `constructor` / `prototype` keys (no
 * prototype pollution downstream), numbers JSON cannot carry (1e999), and a
 * decompressed/compressed ratio above `maxRatio` (gzip bombs). In a batch (array or
 * NDJSON), an event larger than `maxEventBytes` is a per-item error; a single event is
 * bounded by the body limit.
 */
import { TextDecoder } from 'node:util';
import type { ProblemType } from '../../../lib/http/problem';

export class BodyError extends Error {
  constructor(
    readonly problem: ProblemType,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A parsed item. `dataJson`: the JSON text of the event's `data`, when the size check
 * serialised it (array items); the envelope's record reuses it instead of serialising
 * `data` a second time.
 */
export type Item = { ok: true; value: unknown; dataJson?: string } | { ok: false; reason: string };

export interface ParsedBody {
  /** True when the body was a single JSON object (not an array or NDJSON). */
  single: boolean;
  items: Item[];
}

/** How a body holds its events (see content-type.ts for the media types). */
export type BodyFormat = 'json' | 'ndjson';

export interface BodyLimits {
  maxDepth: number;
  /** Largest decompressed/compressed size ratio accepted for an encoded body. */
  maxRatio: number;
  /** Largest event of a batch, in bytes of its JSON text. */
  maxEventBytes: number;
}

export const bodyDefaults: BodyLimits = { maxDepth: 32, maxRatio: 100, maxEventBytes: 128 * 1024 };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseBody(
  body: Buffer,
  format: BodyFormat,
  encodedLength: number | null,
  limits: BodyLimits,
): ParsedBody {
  if (
    encodedLength !== null &&
    encodedLength > 0 &&
    body.length / encodedLength > limits.maxRatio
  ) {
    throw new BodyError(
      'payload-too-large',
      `The body expands ${Math.round(body.length / encodedLength)}x when decompressed (at most ${limits.maxRatio}x).`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyError('bad-request', 'The body is not valid UTF-8.');
  }
  if (text.trim() === '')
    throw new BodyError('bad-request', 'The body is empty; send at least one event.');
  if (format === 'ndjson') {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    return {
      single: false,
      items: lines.map((line) =>
        Buffer.byteLength(line) > limits.maxEventBytes ? tooLarge(limits) : parseItem(line, limits),
      ),
    };
  }
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch (err) {
    throw new BodyError('malformed-json', `The body is not valid JSON: ${(err as Error).message}.`);
  }
  if (Array.isArray(whole)) {
    if (whole.length === 0)
      throw new BodyError('bad-request', 'The array holds no event; send at least one.');
    const items = new Array<Item>(whole.length);
    for (let i = 0; i < whole.length; i++) items[i] = arrayItem(whole[i], limits);
    return { single: false, items };
  }
  return { single: true, items: [checked(whole, limits.maxDepth)] };
}

/**
 * An item of a JSON array: its size is that of its JSON text as re-serialised (exact,
 * whatever the spacing or escapes it was sent with), counted from its fields' texts so
 * that `data` is serialised once, here, and that text kept for the record.
 */
function arrayItem(value: unknown, limits: BodyLimits): Item {
  let bytes: number;
  let dataJson: string | undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    // `{` `}`, then per field: its key's JSON, `:`, its value's JSON, and `,` between.
    const fields = value as Record<string, unknown>;
    bytes = 1;
    for (const k in fields) {
      const text = JSON.stringify(fields[k]);
      if (k === 'data') dataJson = text;
      bytes += Buffer.byteLength(JSON.stringify(k)) + 1 + Buffer.byteLength(text) + 1;
    }
    if (bytes === 1) bytes = 2; // `{}`
  } else {
    bytes = Buffer.byteLength(JSON.stringify(value));
  }
  if (bytes > limits.maxEventBytes) return tooLarge(limits);
  return checked(value, limits.maxDepth - 1, dataJson);
}

const tooLarge = (limits: BodyLimits): Item => ({
  ok: false,
  reason: `the event is larger than ${limits.maxEventBytes} bytes`,
});

function checked(value: unknown, maxDepth: number, dataJson?: string): Item {
  const problem = inspect(value, maxDepth);
  return problem ? { ok: false, reason: problem } : { ok: true, value, dataJson };
}

function parseItem(text: string, limits: BodyLimits): Item {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not valid JSON: ${(err as Error).message}` };
  }
  return checked(value, limits.maxDepth);
}

/**
 * Walks the value without recursion; returns what is wrong with it, or null. Two parallel
 * stacks and `for...in` keep it to no allocation per node (it runs over every event).
 */
function inspect(root: unknown, maxDepth: number): string | null {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return 'a number is out of range';
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= maxDepth) return `nesting deeper than ${maxDepth} levels`;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        values.push(value[i]);
        depths.push(depth + 1);
      }
      continue;
    }
    // NOTE: JSON.parse makes plain objects: own enumerable keys only, no inherited ones.
    for (const k in value) {
      if (FORBIDDEN_KEYS.has(k)) return `the key "${k}" is not allowed`;
      values.push((value as Record<string, unknown>)[k]);
      depths.push(depth + 1);
    }
  }
  return null;
}
