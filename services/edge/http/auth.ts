/**
 * API keys and per-key rate limits for the public routes.
 *
 * - A key travels as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Missing: 401;
 *   unknown or disabled: 403. A valid key names the producer's `source`, recorded in
 *   every envelope. Keys are compared by their SHA-256, never logged (the logger redacts
 *   both headers).
 * - Rate limit: a token bucket per key (`perSecond` tokens a second, up to `burst`), one
 *   token per request; empty: 429 with `Retry-After` (seconds until a token is back).
 *   nginx's `limit_req` per client address is the outer guard.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { ProblemType } from '../../../lib/http/problem';
import { sendProblem } from './send-problem';

export interface ApiKey {
  source: string;
  enabled: boolean;
  /** Topics this key may subscribe to (`GET /v1/subscribe/:topic`); `*` for all. */
  topics: ReadonlySet<string>;
}

export interface AuthConfig {
  /** key -> its source; empty with `required` off: every request is the default source. */
  keys: ReadonlyMap<string, ApiKey>;
  required: boolean;
  rateLimit: { perSecond: number; burst: number };
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
}

/**
 * Checks a request's key and takes a rate-limit token: the one decision behind the
 * Express middleware and the WebSocket upgrade.
 */
export function createKeyChecker(config: AuthConfig): (c: Credentials) => AuthResult {
  const byHash = new Map([...config.keys].map(([key, value]) => [sha256(key), value]));
  const buckets = new TokenBuckets(config.rateLimit.perSecond, config.rateLimit.burst);
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
      return limited(buckets, `ip:${c.ip ?? ''}`, { ok: true, source: null, topics: ALL_TOPICS });
    }
    const hash = hashes.get(key) ?? remember(key);
    const found = byHash.get(hash);
    if (!found || !found.enabled) {
      return {
        ok: false,
        problem: 'forbidden',
        detail: found
          ? 'This API key is disabled; ask for a new one.'
          : 'This API key is not valid.',
      };
    }
    return limited(buckets, hash, { ok: true, source: found.source, topics: found.topics });
  };
}

/** An open edge (no keys required) lets anyone subscribe to any topic. */
const ALL_TOPICS: ReadonlySet<string> = new Set(['*']);

export function mayRead(topics: ReadonlySet<string>, topic: string): boolean {
  return topics.has('*') || topics.has(topic);
}

function limited(buckets: TokenBuckets, id: string, granted: AuthResult): AuthResult {
  const wait = buckets.take(id);
  if (wait <= 0) return granted;
  const seconds = Math.max(1, Math.ceil(wait));
  return {
    ok: false,
    problem: 'rate-limited',
    detail: `Too many requests for this key; retry after ${seconds} s.`,
    retryAfterSeconds: seconds,
  };
}

export function authenticate(config: AuthConfig): RequestHandler {
  const check = createKeyChecker(config);
  return (req, res, next) => {
    const query = req.query.api_key;
    const result = check({
      authorization: req.get('authorization'),
      apiKey: req.get('x-api-key'),
      queryKey: typeof query === 'string' ? query : undefined,
      ip: req.ip,
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

/** Token buckets by id, bounded in number (the least recently used is forgotten). */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxIds = 100_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Takes a token: 0 when granted, else the seconds until one is available. */
  take(id: string): number {
    const t = this.now();
    const b = this.buckets.get(id) ?? { tokens: this.burst, at: t };
    this.buckets.delete(id);
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.buckets.set(id, b);
    if (this.buckets.size > this.maxIds) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.perSecond;
  }
}
