/**
 * The per-key rate limit as docs/api.md states it: one bucket per key, shared by HTTP
 * requests and WebSocket upgrades, and divided among the live edges so the fleet as a
 * whole gives each key its configured rate. In process, with a fake clock and fakes.
 */
import {
  TokenBuckets,
  createKeyChecker,
  edgeShare,
  parseApiKeys,
  parseRateLimits,
} from '../../../services/edge/http/auth';
import type { AuthConfig } from '../../../services/edge/http/auth';
import { attachTestStream, startTestApp } from '../../support/edge-app';
import { MemorySink } from '../../support/fakes';

const KEY = 'rate-key-0123456789';

const auth = (perSecond: number, burst: number, extra: string[] = []): AuthConfig => ({
  required: true,
  keys: parseApiKeys([`web:${KEY}`, ...extra]),
  rateLimit: { perSecond, burst },
});

/** Takes `n` tokens for a key through a checker; returns how many were granted. */
function granted(check: ReturnType<typeof createKeyChecker>, n: number, key = KEY): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (check({ apiKey: key }).ok) ok += 1;
  return ok;
}

describe('rate limit across the fleet', () => {
  it('divides rate and burst by the live edges (at least 1 token of burst)', () => {
    expect(edgeShare({ perSecond: 100, burst: 40 }, 1)).toEqual({ perSecond: 100, burst: 40 });
    expect(edgeShare({ perSecond: 100, burst: 40 }, 4)).toEqual({ perSecond: 25, burst: 10 });
    expect(edgeShare({ perSecond: 1, burst: 2 }, 8)).toEqual({ perSecond: 0.125, burst: 1 });
    expect(edgeShare({ perSecond: 10, burst: 10 }, 0)).toEqual({ perSecond: 10, burst: 10 });
  });

  it('gives a key burst / n tokens on each edge, so n edges give the burst once', () => {
    const edges = 2;
    const checkers = Array.from({ length: edges }, () =>
      createKeyChecker(auth(1, 20), () => edges),
    );
    expect(checkers.map((check) => granted(check, 30))).toEqual([10, 10]);
  });

  it('follows a change of the live count at the next request', () => {
    let live = 1;
    const check = createKeyChecker(auth(1, 20), () => live);
    expect(granted(check, 5)).toBe(5);
    live = 4; // the bucket is capped at 20 / 4 = 5 tokens: 15 were left, 5 remain
    expect(granted(check, 10)).toBe(5);
  });

  it('refills at perSecond / n', () => {
    let t = 0;
    const buckets = new TokenBuckets(100, () => t);
    const share = edgeShare({ perSecond: 10, burst: 10 }, 2);
    let ok = 0;
    for (let i = 0; i < 5; i++) if (buckets.take('k', share) === 0) ok += 1;
    expect(ok).toBe(5);
    expect(buckets.take('k', share)).toBeCloseTo(0.2); // 1 token at 5 a second
    t = 2000; // 2 s at 5 tokens a second: the bucket is full again (5), not 10 or 20
    ok = 0;
    for (let i = 0; i < 20; i++) if (buckets.take('k', share) === 0) ok += 1;
    expect(ok).toBe(5);
  });

  it("uses a source's own limit from INTAKE_RATE_LIMITS, and the default for others", () => {
    const config = {
      ...auth(1000, 1000, ['partner:partner-key-0123']),
      rateLimitBySource: parseRateLimits(['partner=2/6']),
    };
    const check = createKeyChecker(config, () => 3);
    expect(granted(check, 10, 'partner-key-0123')).toBe(2);
    expect(granted(check, 10)).toBe(10);
    expect(() => parseRateLimits(['partner=2'])).toThrow(/source=perSecond\/burst/);
    expect(() => parseRateLimits(['partner=0/5'])).toThrow(/INTAKE_RATE_LIMITS/);
  });

  it('takes HTTP requests and WebSocket upgrades of one key from the same bucket', async () => {
    const check = createKeyChecker(auth(1, 6));
    const app = await startTestApp({ sink: new MemorySink(), checkKey: check });
    const stream = attachTestStream(app, check);
    const post = async (): Promise<number> =>
      (
        await fetch(`${app.base}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY },
          body: '{"type":"a","key":"v"}',
        })
      ).status;
    const upgrade = (): Promise<number> => stream.upgrade(KEY);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(await post());
      statuses.push(await upgrade());
    }
    stream.close();
    await app.close();
    // 6 tokens in all, whichever way they are asked for (two buckets would grant all 10)
    expect(statuses).toEqual([202, 101, 202, 101, 202, 101, 429, 429, 429, 429]);
  });
});
