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
import { sendProblem } from './send-problem';

export interface ApiKey {
  source: string;
  enabled: boolean;
}

export interface AuthConfig {
  /** key -> its source; empty with `required` off: every request is the default source. */
  keys: ReadonlyMap<string, ApiKey>;
  required: boolean;
  rateLimit: { perSecond: number; burst: number };
}

/** Parses `source:key` entries; a leading `!` disables a key (403, distinguishable from unknown). */
export function parseApiKeys(entries: string[]): Map<string, ApiKey> {
  const keys = new Map<string, ApiKey>();
  for (const entry of entries) {
    const enabled = !entry.startsWith('!');
    const [source, key] = (enabled ? entry : entry.slice(1)).split(':', 2);
    if (!source || !key)
      throw new Error(`INTAKE_API_KEYS entry "${entry.slice(0, 8)}..." is not source:key`);
    keys.set(key, { source, enabled });
  }
  return keys;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function authenticate(config: AuthConfig): RequestHandler {
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
  return (req, res, next) => {
    const header = req.get('authorization');
    const key = header?.toLowerCase().startsWith('bearer ')
      ? header.slice(7).trim()
      : req.get('x-api-key');
    if (!key) {
      if (config.required) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="intake"');
        sendProblem(
          res,
          'unauthorized',
          'Send your API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.',
        );
        return;
      }
      return limit(buckets, `ip:${req.ip ?? ''}`, res, next);
    }
    const hash = hashes.get(key) ?? remember(key);
    const found = byHash.get(hash);
    if (!found || !found.enabled) {
      sendProblem(
        res,
        'forbidden',
        found ? 'This API key is disabled; ask for a new one.' : 'This API key is not valid.',
      );
      return;
    }
    res.locals.source = found.source;
    limit(buckets, hash, res, next);
  };
}

function limit(
  buckets: TokenBuckets,
  id: string,
  res: Parameters<RequestHandler>[1],
  next: () => void,
): void {
  const wait = buckets.take(id);
  if (wait > 0) {
    const seconds = Math.max(1, Math.ceil(wait));
    sendProblem(
      res,
      'rate-limited',
      `Too many requests for this key; retry after ${seconds} s.`,
      {},
      seconds,
    );
    return;
  }
  next();
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
