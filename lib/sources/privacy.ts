/**
 * A source's privacy policy (lib/records/source.ts), applied to what the edge is about to
 * write, in two parts:
 *
 * - per request (`request`): the request metadata all its events share. The client IP is
 *   kept, truncated (IPv4 to its /24, IPv6 to its /48, an IPv4-mapped IPv6 address as
 *   IPv4) or dropped; an address that is no IP is dropped, never kept. The user agent is
 *   kept or dropped. A `Sec-GPC: 1` or `DNT: 1` request whose signal the policy honours
 *   is anonymous: its IP is dropped, and the edge must neither read nor set the visitor
 *   cookie for it.
 * - per event (`event`): an event whose key (visitor or user id) is suppressed (listed in
 *   the policy, or forgotten) is dropped: accepted, counted, never written. The redactions
 *   apply to `data` in the order listed: each RFC 6901 pointer's field is removed (an array
 *   item removed shifts the ones after it, as JSON Patch's `remove`) or replaced by its
 *   keyed hash: HMAC-SHA256 with the source's `hashKey`, in hex, of the string (any other
 *   value: of its JSON text, so `1` and `"1"` hash alike). A pointer to nothing changes
 *   nothing.
 *
 * Nothing given is changed: a changed envelope or metadata is a new object (the envelope
 * then forgets the JSON text `wrapEvent` kept of its data), an unchanged one is returned
 * as it was, so a source with the default policy costs nothing.
 */
import { createHmac, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SocketAddress, isIP } from 'node:net';
import type { Envelope, RequestMeta } from '../envelope';
import type { PrivacyPolicy, Redaction } from '../records/source';

/** The opt-out signals a request carries. */
export interface OptOutSignals {
  /** `Sec-GPC: 1` (Global Privacy Control). */
  gpc: boolean;
  /** `DNT: 1` (Do Not Track). */
  dnt: boolean;
}

type Headers = Record<string, string | string[] | undefined>;

const isOne = (v: string | string[] | undefined): boolean =>
  typeof v === 'string' && v.trim() === '1';

/** The opt-out signals of a request's headers (lower-case names, as Node gives them). */
export const optOutSignals = (headers: Headers): OptOutSignals => ({
  gpc: isOne(headers['sec-gpc']),
  dnt: isOne(headers.dnt),
});

/** An IPv6 address as Node writes it (RFC 5952: lower case, longest zero run as `::`). */
const canonicalIpv6 = (ip: string): string =>
  new SocketAddress({ address: ip, family: 'ipv6' }).address;

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/;

/**
 * The address with its host part zeroed: IPv4 /24, IPv6 /48 (an IPv4-mapped address as
 * IPv4), in canonical form; undefined for anything that is not an IP address.
 */
export function truncateIp(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return ip.replace(/\.\d+$/, '.0');
  if (family !== 6) return undefined;
  const canonical = canonicalIpv6(ip);
  const mapped = MAPPED_IPV4.exec(canonical);
  if (mapped) return `::ffff:${truncateIp(mapped[1]!)}`;
  // Canonical text has `::` at most once, for the zero groups that make eight, and hex
  // groups but in `::a.b.c.d`, whose dotted part is past the three groups kept.
  const [head, tail] = canonical.split('::').map((part) => (part === '' ? [] : part.split(':')));
  const groups =
    tail === undefined
      ? head!
      : [...head!, ...Array<string>(8 - head!.length - tail.length).fill('0'), ...tail];
  return canonicalIpv6(`${groups.slice(0, 3).join(':')}::`);
}

/** RFC 6901: a pointer's reference tokens (`/a~1b/c~0d` is `a/b`, then `c~d`). */
export const decodePointer = (pointer: string): string[] =>
  pointer
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));

const REMOVE = Symbol('remove');
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/**
 * `value` with the item at `path[i..]` replaced by `change(item)` (or removed for
 * `REMOVE`), copying only the containers on the path; `value` itself when the path leads
 * nowhere.
 */
function changeAt(
  value: unknown,
  path: readonly string[],
  i: number,
  change: (item: unknown) => unknown,
): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const token = path[i]!;
  const isArray = Array.isArray(value);
  if (
    isArray
      ? !ARRAY_INDEX.test(token) || Number(token) >= value.length
      : !Object.hasOwn(value, token)
  )
    return value;
  const item = (value as Record<string, unknown>)[token];
  const next = i === path.length - 1 ? change(item) : changeAt(item, path, i + 1, change);
  if (next === item) return value;
  if (isArray) {
    const copy = [...(value as unknown[])];
    if (next === REMOVE) copy.splice(Number(token), 1);
    else copy[Number(token)] = next;
    return copy;
  }
  return copyObject(value as Record<string, unknown>, token, next);
}

/**
 * A copy of `value` with field `token` set to `next` in its place, or left out for
 * `REMOVE`. Built field by field, without `delete` or a property definition per field,
 * so the copy stays a fast (non-dictionary) object for the JSON serialiser.
 */
function copyObject(
  value: Record<string, unknown>,
  token: string,
  next: unknown,
): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    const v = k === token ? next : value[k];
    if (v === REMOVE) continue;
    // defineProperty: a `__proto__` field stays a field.
    if (k === '__proto__')
      Object.defineProperty(copy, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else copy[k] = v;
  }
  return copy;
}

export type PrivacyResult =
  { kind: 'ok'; event: Envelope } | { kind: 'drop'; reason: 'suppressed' };

/** One source's privacy policy (a validated one), prepared once per version of its record. */
export class Privacy {
  private readonly suppressed: ReadonlySet<string>;
  private readonly redactions: readonly { path: string[]; mode: Redaction['mode'] }[];
  private readonly hashKey: KeyObject | undefined;

  constructor(private readonly policy: PrivacyPolicy) {
    this.suppressed = new Set(policy.suppressed);
    this.redactions = policy.redact.map((r) => ({ path: decodePointer(r.pointer), mode: r.mode }));
    this.hashKey =
      policy.hashKey === undefined
        ? undefined
        : createSecretKey(Buffer.from(policy.hashKey, 'base64url'));
  }

  /** The request's metadata under the policy, and whether the request is anonymous. */
  request(meta: RequestMeta, signals: OptOutSignals): { meta: RequestMeta; anonymous: boolean } {
    const p = this.policy;
    const anonymous =
      (signals.gpc && p.gpc === 'anonymous') || (signals.dnt && p.dnt === 'anonymous');
    const ip =
      meta.ip === undefined || anonymous || p.ip === 'drop'
        ? undefined
        : p.ip === 'truncate'
          ? truncateIp(meta.ip)
          : meta.ip;
    const userAgent = p.userAgent === 'drop' ? undefined : meta.userAgent;
    if (ip === meta.ip && userAgent === meta.userAgent) return { meta, anonymous };
    const changed = { ...meta, ip, userAgent };
    if (ip === undefined) delete changed.ip;
    if (userAgent === undefined) delete changed.userAgent;
    return { meta: changed, anonymous };
  }

  /** The event to write, or `drop` when its key is suppressed (listed, or `forgotten`). */
  event(envelope: Envelope, forgotten?: (key: string) => boolean): PrivacyResult {
    if (this.suppressed.has(envelope.key) || forgotten?.(envelope.key) === true)
      return { kind: 'drop', reason: 'suppressed' };
    let data = envelope.data;
    for (const r of this.redactions)
      data = changeAt(data, r.path, 0, r.mode === 'remove' ? () => REMOVE : this.hash);
    return { kind: 'ok', event: data === envelope.data ? envelope : { ...envelope, data } };
  }

  /** The memo's keys for this policy: its own prefix, so another key never reuses a digest. */
  private readonly memoPrefix = `${nextMemoId++}\u0000`;

  private readonly hash = (value: unknown): string => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (text.length > HASH_MEMO_MAX_CHARS) return this.hmac(text);
    const memoKey = this.memoPrefix + text;
    let digest = hashMemo.get(memoKey);
    if (digest === undefined) {
      digest = this.hmac(text);
      if (hashMemo.size >= HASH_MEMO_ENTRIES) hashMemo.clear();
      hashMemo.set(memoKey, digest);
    }
    return digest;
  };

  private hmac(text: string): string {
    return createHmac('sha256', this.hashKey!).update(text).digest('hex');
  }
}

/**
 * Keyed hashes computed lately, of every policy: a value repeated across events (a user id
 * in each event of a session) is hashed once. Bounded: values up to
 * `HASH_MEMO_MAX_CHARS` characters, `HASH_MEMO_ENTRIES` entries, emptied when full.
 */
export const HASH_MEMO_ENTRIES = 4096;
export const HASH_MEMO_MAX_CHARS = 256;
const hashMemo = new Map<string, string>();
let nextMemoId = 0;
