/**
 * API keys and per-key rate limits for the public routes.
 *
 * - A key travels as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Missing: 401;
 *   unknown, disabled, or rotated and past its grace: 403. A valid key names the
 *   producer's `source`, recorded in every envelope. Keys are compared by their SHA-256,
 *   never logged (the logger redacts both headers). With `index` (the edge: the sources
 *   topic, lib/sources/book.ts) a key is looked up in the sources as they are now;
 *   without it (unit tests, an edge whose broker lacks the topic), in `keys`.
 * - Origins: a request with an `Origin` header that carries a key of a source whose
 *   `origins` list is not empty and lacks that origin is refused, 403 `origin-not-allowed`
 *   (origins.ts). Every caller passes the request's `Origin` with its credentials.
 * - Rate limit: each key has one token bucket across the fleet (`perSecond` tokens a
 *   second, up to `burst`; a source may have its own, `rateLimitBySource`), one token per
 *   request or WebSocket upgrade, from the same bucket; empty: 429 with `Retry-After`
 *   (seconds until a token is back). Without keys, the bucket is per client address.
 * - Across the fleet: the edges share no store, so each edge gives each key
 *   `perSecond / n` and `burst / n` (at least 1 token), n being the live edges
 *   (live-edges.ts). The fleet-wide budget is the configured one when the balancer
 *   spreads a key's requests evenly (nginx's `least_conn` does, roughly). It is
 *   approximate: when one client's requests land mostly on one edge, that client gets
 *   less (down to 1/n of the limit), never more; while a killed edge is still counted
 *   (up to its consumer session timeout), the fleet gives less; a new edge is counted
 *   seconds after it joined, until then the fleet may give up to (n+1)/n of the limit.
 * - nginx's `limit_req` per client address is the outer guard.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { ProblemType } from '../../../lib/http/problem';
import type { KeyIndex } from '../../../lib/sources/keys';
import { keyAllowsOrigin, originRefusal } from './origins';
import { sendProblem } from './send-problem';

export interface ApiKey {
  source: string;
  enabled: boolean;
  /** Topics this key may subscribe to (`GET /v1/subscribe/:topic`); `*` for all. */
  topics: ReadonlySet<string>;
}

/** A token bucket: `perSecond` tokens a second, holding up to `burst`. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface AuthConfig {
  /** key -> its source; empty with `required` off: every request is the default source. */
  keys: ReadonlyMap<string, ApiKey>;
  /**
   * The sources' keys now (the sources topic, lib/sources/book.ts); wins over `keys`,
   * which then only seed the topic.
   */
  index?: () => KeyIndex;
  required: boolean;
  /** Each key's fleet-wide limit. */
  rateLimit: RateLimit;
  /** The fleet-wide limit of the keys of these sources, instead of `rateLimit`. */
  rateLimitBySource?: ReadonlyMap<string, RateLimit>;
}

/**
 * Parses `source:key[:topic+topic]` entries; a leading `!` disables a key (403,
 * distinguishable from unknown). The optional third part names the topics the key may
 * subscribe to (`*` for all); without it the key can send but not subscribe.
 */
export function parseApiKeys(entries: string[]): Map<string, ApiKey> {
  const keys = new Map<string, ApiKey>();
  for (const entry of entries) {
    const enabled = !entry.startsWith('!');
    const [source, key, topics] = (enabled ? entry : entry.slice(1)).split(':', 3);
    if (!source || !key)
      throw new Error(
        `INTAKE_API_KEYS entry "${entry.slice(0, 8)}..." is not source:key[:topic+topic]`,
      );
    keys.set(key, { source, enabled, topics: new Set(topics ? topics.split('+') : []) });
  }
  return keys;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** What the credentials of a request allow, or the problem to answer with. */
export type AuthResult =
  | { ok: true; source: string | null; topics: ReadonlySet<string> }
  | { ok: false; problem: ProblemType; detail: string; retryAfterSeconds?: number };

export interface Credentials {
  authorization?: string;
  apiKey?: string;
  /** `?api_key=` for WebSocket and EventSource clients, which cannot set headers. */
  queryKey?: string;
  ip?: string;
  /** The request's `Origin` header (absent: not a browser's cross-origin request). */
  origin?: string;
}

/**
 * Parses `source=perSecond/burst` entries (INTAKE_RATE_LIMITS): the limit of a source's
 * keys, instead of the default one.
 */
export function parseRateLimits(entries: string[]): Map<string, RateLimit> {
  const limits = new Map<string, RateLimit>();
  for (const entry of entries) {
    const match = /^([^=]+)=(\d+)\/(\d+)$/.exec(entry);
    const [perSecond, burst] = [Number(match?.[2]), Number(match?.[3])];
    if (!match || !(perSecond >= 1) || !(burst >= 1))
      throw new Error(
        `INTAKE_RATE_LIMITS entry "${entry}" is not source=perSecond/burst (integers >= 1)`,
      );
    limits.set(match[1]!, { perSecond, burst });
  }
  return limits;
}

export type KeyChecker = (c: Credentials) => AuthResult;

/** Each edge's share of a fleet-wide limit when `edges` edges are alive. */
export function edgeShare(limit: RateLimit, edges: number): RateLimit {
  const n = Math.max(1, edges);
  return { perSecond: limit.perSecond / n, burst: Math.max(1, limit.burst / n) };
}

/**
 * Checks a request's key and takes a rate-limit token: the one decision behind the
 * Express middleware and the WebSocket upgrade, which must share one checker (one bucket
 * per key). `liveEdges` is the number of edges sharing each key's limit (default 1).
 */
export function createKeyChecker(
  config: AuthConfig,
  liveEdges: () => number = () => 1,
): KeyChecker {
  const find = config.index ? indexLookup(config.index) : staticLookup(config.keys);
  const buckets = new TokenBuckets();
  const limitOf = (source: string | null): RateLimit =>
    edgeShare(
      (source !== null && config.rateLimitBySource?.get(source)) || config.rateLimit,
      liveEdges(),
    );
  // Hashing every request's key showed in the CPU profile: remember the last few.
  const hashes = new Map<string, string>();
  const remember = (key: string): string => {
    const hash = sha256(key);
    if (hashes.size >= 1024) hashes.delete(hashes.keys().next().value!);
    hashes.set(key, hash);
    return hash;
  };
  return (c) => {
    const key = c.authorization?.toLowerCase().startsWith('bearer ')
      ? c.authorization.slice(7).trim()
      : (c.apiKey ?? c.queryKey);
    if (!key) {
      if (config.required)
        return {
          ok: false,
          problem: 'unauthorized',
          detail: 'Send your API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.',
        };
      return limited(buckets, `ip:${c.ip ?? ''}`, limitOf(null), {
        ok: true,
        source: null,
        topics: ALL_TOPICS,
      });
    }
    const hash = hashes.get(key) ?? remember(key);
    const found = find(hash);
    if (found.kind !== 'ok')
      return { ok: false, problem: 'forbidden', detail: REFUSED[found.kind] };
    if (!keyAllowsOrigin(found.origins, c.origin))
      return {
        ok: false,
        problem: 'origin-not-allowed',
        detail: originRefusal(found.source, c.origin!),
      };
    return limited(buckets, hash, limitOf(found.source), {
      ok: true,
      source: found.source,
      topics: found.topics,
    });
  };
}

/** A key found by its hash: its source, or why it is refused. */
type Found =
  | { kind: 'ok'; source: string; topics: ReadonlySet<string>; origins: readonly string[] }
  | { kind: 'unknown' | 'expired' | 'disabled' };

const REFUSED: Record<Exclude<Found['kind'], 'ok'>, string> = {
  unknown: 'This API key is not valid.',
  expired: 'This API key was rotated and its grace period is over; use the new key.',
  disabled: 'This API key is disabled; ask for a new one.',
};

function staticLookup(keys: ReadonlyMap<string, ApiKey>): (hash: string) => Found {
  const byHash = new Map([...keys].map(([key, value]) => [sha256(key), value]));
  return (hash) => {
    const found = byHash.get(hash);
    if (!found) return { kind: 'unknown' };
    if (!found.enabled) return { kind: 'disabled' };
    return { kind: 'ok', source: found.source, topics: found.topics, origins: NO_ORIGINS };
  };
}

function indexLookup(index: () => KeyIndex): (hash: string) => Found {
  return (hash) => {
    const match = index().lookupHash(hash, Date.now());
    return match.kind === 'ok'
      ? {
          kind: 'ok',
          source: match.source.name,
          topics: match.topics,
          origins: match.source.origins,
        }
      : { kind: match.kind };
  };
}

/** Keys of `INTAKE_API_KEYS` (without the sources topic) list no origins: any is allowed. */
const NO_ORIGINS: readonly string[] = [];

/** An open edge (no keys required) lets anyone subscribe to any topic. */
const ALL_TOPICS: ReadonlySet<string> = new Set(['*']);

export function mayRead(topics: ReadonlySet<string>, topic: string): boolean {
  return topics.has('*') || topics.has(topic);
}

function limited(
  buckets: TokenBuckets,
  id: string,
  limit: RateLimit,
  granted: AuthResult,
): AuthResult {
  const wait = buckets.take(id, limit);
  if (wait <= 0) return granted;
  const seconds = Math.max(1, Math.ceil(wait));
  return {
    ok: false,
    problem: 'rate-limited',
    detail: `Too many requests for this key; retry after ${seconds} s.`,
    retryAfterSeconds: seconds,
  };
}

/** The /v1 middleware: `check` is the checker the WebSocket upgrades use too. */
export function authenticate(check: KeyChecker): RequestHandler {
  return (req, res, next) => {
    const query = req.query.api_key;
    const result = check({
      authorization: req.get('authorization'),
      apiKey: req.get('x-api-key'),
      queryKey: typeof query === 'string' ? query : undefined,
      ip: req.ip,
      origin: req.get('origin'),
    });
    if (!result.ok) {
      if (result.problem === 'unauthorized')
        res.setHeader('WWW-Authenticate', 'Bearer realm="intake"');
      sendProblem(res, result.problem, result.detail, {}, result.retryAfterSeconds);
      return;
    }
    if (result.source !== null) res.locals.source = result.source;
    res.locals.topics = result.topics;
    next();
  };
}

/**
 * Token buckets by id, bounded in number (the least recently used is forgotten). The
 * limit is given with each take, so a bucket follows a change of its share at once.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly maxIds = 100_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes a token: 0 when granted, else the seconds until one is available. */
  take(id: string, { perSecond, burst }: RateLimit): number {
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: burst, at: t };
    this.buckets.delete(id);
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
    b.at = t;
    this.buckets.set(id, b);
    if (this.buckets.size > this.maxIds) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / perSecond;
  }
}
