/**
 * Quota arithmetic (lib/sources/quota.ts): a token bucket and a UTC day per source,
 * counted in events, shared by the fleet through usage reports.
 */
import fc from 'fast-check';
import type { SourceQuotas } from '../../../lib/records/source';
import { FleetQuotas, secondsToNextUtcDay, utcDay } from '../../../lib/sources/quota';

const T0 = Date.parse('2026-01-01T12:00:00.000Z');

/** One edge's quotas on a clock the test moves. */
function edge(quotas: SourceQuotas | undefined, name = 'edge-1', start = T0) {
  const clock = { now: start };
  const q = new FleetQuotas({ edge: name, quotasOf: () => quotas, now: () => clock.now });
  return { q, clock };
}

describe('utcDay and secondsToNextUtcDay', () => {
  it('name the UTC day and count the seconds to its end', () => {
    expect(utcDay(Date.parse('2026-03-04T23:59:59.999Z'))).toBe('2026-03-04');
    expect(secondsToNextUtcDay(Date.parse('2026-03-04T23:59:59.001Z'))).toBe(1);
    expect(secondsToNextUtcDay(Date.parse('2026-03-04T00:00:00.000Z'))).toBe(86_400);
    expect(secondsToNextUtcDay(Date.parse('2026-03-04T12:00:00.500Z'))).toBe(43_200);
  });
});

describe('per-second quota (a token bucket, in events)', () => {
  const quotas = { perSecond: 10, burst: 20, perDayGrace: 0 };

  it('admits nothing to limit for a source without quotas', () => {
    const { q } = edge(undefined);
    for (let i = 0; i < 100; i++) expect(q.take('shop', 1000)).toEqual({ ok: true });
  });

  it('admits a burst, then refuses with the seconds until the request fits', () => {
    const { q, clock } = edge(quotas);
    expect(q.take('shop', 15)).toEqual({ ok: true });
    expect(q.take('shop', 5)).toEqual({ ok: true });
    // Empty: 12 events need 1.2 s of refill.
    expect(q.take('shop', 12)).toEqual({
      ok: false,
      quota: 'per-second',
      limit: 10,
      retryAfterSeconds: 2,
    });
    expect(q.take('shop', 1)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    clock.now += 1200;
    expect(q.take('shop', 12)).toEqual({ ok: true });
    expect(q.take('shop', 1)).toMatchObject({ ok: false });
  });

  it('counts events, not requests: one request of n events takes n tokens or none', () => {
    const { q } = edge(quotas);
    expect(q.take('shop', 19)).toEqual({ ok: true });
    expect(q.take('shop', 2)).toMatchObject({ ok: false });
    expect(q.take('shop', 1)).toEqual({ ok: true });
  });

  it('gives no tokens back for a count below 1', () => {
    const { q } = edge(quotas);
    expect(q.take('shop', 20)).toEqual({ ok: true });
    expect(q.take('shop', -5)).toEqual({ ok: true });
    expect(q.take('shop', 0)).toEqual({ ok: true });
    expect(q.take('shop', 1)).toMatchObject({ ok: false });
  });

  it('refuses for good a request of more events than the burst (split it)', () => {
    const { q } = edge(quotas);
    expect(q.take('shop', 21)).toEqual({
      ok: false,
      quota: 'per-second',
      limit: 10,
      retryAfterSeconds: null,
    });
    expect(q.take('shop', 20)).toEqual({ ok: true });
  });

  it('holds one second of events when no burst is set', () => {
    const { q } = edge({ perSecond: 2.5, perDayGrace: 0 });
    expect(q.take('shop', 3)).toEqual({ ok: true });
    expect(q.take('shop', 1)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
  });

  it('keeps sources apart', () => {
    const { q } = edge(quotas);
    expect(q.take('shop', 20)).toEqual({ ok: true });
    expect(q.take('shop', 1)).toMatchObject({ ok: false });
    expect(q.take('web', 20)).toEqual({ ok: true });
  });

  it('never admits more than burst + perSecond * t, over any time t', () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 2000 }),
      events: fc.integer({ min: 1, max: 30 }),
    });
    const limits = fc.record({
      perSecond: fc.double({ min: 0.1, max: 100, noNaN: true }),
      burst: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(limits, fc.array(step, { maxLength: 200 }), (l, steps) => {
        const { q, clock } = edge({ ...l, perDayGrace: 0 });
        // After each step: when, and how many events were admitted up to then.
        const history = [{ at: T0, admitted: 0 }];
        let admitted = 0;
        let over = -Infinity;
        for (const s of steps) {
          clock.now += s.dt;
          if (q.take('shop', s.events).ok) admitted += s.events;
          for (const h of history) {
            const bound = l.burst + l.perSecond * ((clock.now - h.at) / 1000);
            over = Math.max(over, admitted - h.admitted - bound);
          }
          history.push({ at: clock.now, admitted });
        }
        expect(over).toBeLessThanOrEqual(1e-6);
      }),
    );
  });
});

describe('per-day quota (a UTC day, with a grace)', () => {
  it('admits perDay plus the grace, then refuses until the next UTC midnight', () => {
    const { q, clock } = edge({ perDay: 100, perDayGrace: 0.1 });
    expect(q.take('shop', 100)).toEqual({ ok: true });
    expect(q.take('shop', 10)).toEqual({ ok: true });
    expect(q.take('shop', 1)).toEqual({
      ok: false,
      quota: 'per-day',
      limit: 110,
      retryAfterSeconds: 12 * 3600,
    });
    clock.now = Date.parse('2026-01-01T23:59:59.500Z');
    expect(q.take('shop', 1)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    clock.now = Date.parse('2026-01-02T00:00:00.000Z');
    expect(q.take('shop', 110)).toEqual({ ok: true });
    expect(q.today('shop')).toBe(110);
  });

  it('refuses for good a request of more events than the day admits', () => {
    const { q } = edge({ perDay: 5, perDayGrace: 0 });
    expect(q.take('shop', 6)).toMatchObject({ quota: 'per-day', retryAfterSeconds: null });
    expect(q.take('shop', 5)).toEqual({ ok: true });
  });

  it('names the quota that keeps the client waiting longest; a refusal takes from neither', () => {
    const { q, clock } = edge({ perSecond: 1, burst: 5, perDay: 8, perDayGrace: 0 });
    expect(q.take('shop', 5)).toEqual({ ok: true });
    expect(q.take('shop', 1)).toMatchObject({ quota: 'per-second', retryAfterSeconds: 1 });
    expect(q.today('shop')).toBe(5);
    clock.now += 3000;
    expect(q.take('shop', 4)).toMatchObject({ quota: 'per-day', retryAfterSeconds: 12 * 3600 - 3 });
    expect(q.take('shop', 3)).toEqual({ ok: true });
    expect(q.today('shop')).toBe(8);
  });
});

describe('across the fleet (usage reports)', () => {
  const quotas = { perSecond: 10, burst: 10, perDay: 100, perDayGrace: 0 };

  it('takes what another edge reported from the bucket and the day, once', () => {
    const a = edge(quotas, 'edge-a');
    const b = edge(quotas, 'edge-b');
    expect(a.q.take('shop', 8)).toEqual({ ok: true });
    const report = a.q.report();
    expect(report).toMatchObject({
      edge: 'edge-a',
      day: '2026-01-01',
      sources: { shop: { total: 8, today: 8 } },
    });
    b.q.merge(report);
    b.q.merge(report); // repeated: counted once
    expect(b.q.today('shop')).toBe(8);
    expect(b.q.take('shop', 3)).toMatchObject({ ok: false, quota: 'per-second' });
    expect(b.q.take('shop', 2)).toEqual({ ok: true });
    // What edge-a admits next is counted from its next report, not again.
    expect(a.q.take('shop', 3)).toMatchObject({ ok: false });
    a.clock.now += 1000;
    b.clock.now += 1000;
    expect(a.q.take('shop', 5)).toEqual({ ok: true });
    b.q.merge(a.q.report());
    b.q.merge(report); // older: changes nothing
    expect(b.q.today('shop')).toBe(15);
  });

  it("may go below zero on others' usage, and refuses until the debt is paid", () => {
    const a = edge(quotas, 'edge-a');
    const b = edge(quotas, 'edge-b');
    expect(a.q.take('shop', 10)).toEqual({ ok: true });
    expect(b.q.take('shop', 10)).toEqual({ ok: true });
    b.q.merge(a.q.report());
    // edge-b's bucket is at -10: 11 events need 2.1 s.
    expect(b.q.take('shop', 1)).toMatchObject({ ok: false, retryAfterSeconds: 2 });
    b.clock.now += 1500;
    expect(b.q.take('shop', 6)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    expect(b.q.take('shop', 5)).toEqual({ ok: true });
  });

  it('counts the day of an edge that reported before this one started, but not its bucket', () => {
    const a = edge(quotas, 'edge-a', T0 - 60_000);
    expect(a.q.take('shop', 10)).toEqual({ ok: true });
    const b = edge(quotas, 'edge-b');
    b.q.merge(a.q.report());
    expect(b.q.today('shop')).toBe(10);
    expect(b.q.take('shop', 10)).toEqual({ ok: true });
  });

  it('counts in full a run of another edge that started after this one', () => {
    const b = edge(quotas, 'edge-b');
    const a = edge(quotas, 'edge-a', T0 + 1);
    b.clock.now = T0 + 1;
    expect(a.q.take('shop', 10)).toEqual({ ok: true });
    b.q.merge(a.q.report());
    expect(b.q.take('shop', 1)).toMatchObject({ ok: false, quota: 'per-second' });
  });

  it('keeps the day count of an edge through its restart (its last report, read back)', () => {
    const first = edge(quotas, 'edge-a');
    expect(first.q.take('shop', 60)).toMatchObject({ ok: false }); // over the burst
    for (let i = 0; i < 6; i++) {
      expect(first.q.take('shop', 10)).toEqual({ ok: true });
      first.clock.now += 1000;
    }
    const before = first.q.report();
    const again = edge(quotas, 'edge-a', first.clock.now + 5000);
    again.q.merge(before);
    expect(again.q.today('shop')).toBe(60);
    expect(again.q.take('shop', 10)).toEqual({ ok: true });
    expect(again.q.report().sources.shop).toEqual({ total: 10, today: 70 });
    // Its own report, read back, changes nothing.
    again.q.merge(again.q.report());
    expect(again.q.today('shop')).toBe(70);
    // The others count its days by name, the older run's and the newer one's alike.
    const other = edge(quotas, 'edge-b', first.clock.now + 6000);
    other.q.merge(before);
    other.q.merge(again.q.report());
    expect(other.q.today('shop')).toBe(70);
  });

  it("forgets other edges' counts of earlier days", () => {
    const a = edge(quotas, 'edge-a');
    const b = edge(quotas, 'edge-b');
    expect(a.q.take('shop', 10)).toEqual({ ok: true });
    b.q.merge(a.q.report());
    b.clock.now = Date.parse('2026-01-02T00:00:01.000Z');
    expect(b.q.today('shop')).toBe(0);
    b.q.merge(a.q.report()); // a late report of yesterday
    expect(b.q.today('shop')).toBe(0);
  });

  /**
   * N edges, each serving its share of the requests, publishing a report at the first
   * request after each T ms that every other edge merges at once (L = T + the longest gap
   * between requests): the documented bounds hold over every span of time.
   */
  it('admits at most burst + perSecond * t + (N - 1) * (burst + perSecond * L) fleet-wide', () => {
    const maxGapMs = 100;
    const scenario = fc.record({
      edges: fc.integer({ min: 1, max: 4 }),
      perSecond: fc.integer({ min: 1, max: 20 }),
      burst: fc.integer({ min: 20, max: 50 }),
      perDay: fc.integer({ min: 0, max: 1000 }),
      intervalMs: fc.integer({ min: 100, max: 3000 }),
      // Demand well over the quota, so the edges refuse and the bounds are tight.
      steps: fc.array(
        fc.record({
          dt: fc.integer({ min: 0, max: maxGapMs }),
          edge: fc.nat(),
          events: fc.integer({ min: 1, max: 20 }),
        }),
        { minLength: 100, maxLength: 400 },
      ),
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const limits = { perSecond: s.perSecond, burst: s.burst, perDay: s.perDay, perDayGrace: 0 };
        const fleet = Array.from({ length: s.edges }, (_, i) => edge(limits, `edge-${i}`));
        const L = (s.intervalMs + maxGapMs) / 1000;
        const slack = (s.edges - 1) * (s.burst + s.perSecond * L);
        let now = T0;
        let nextReport = T0 + s.intervalMs;
        let admitted = 0;
        const history = [{ at: T0, admitted: 0 }];
        // The most admitted beyond a bound, over every span.
        let over = -Infinity;
        for (const step of s.steps) {
          now += step.dt;
          for (const e of fleet) e.clock.now = now;
          if (now >= nextReport) {
            const reports = fleet.map((e) => e.q.report());
            for (const e of fleet) for (const r of reports) e.q.merge(r);
            nextReport += s.intervalMs * Math.ceil((now - nextReport + 1) / s.intervalMs);
          }
          if (fleet[step.edge % s.edges]!.q.take('shop', step.events).ok) admitted += step.events;
          for (const h of history) {
            const bound = s.burst + s.perSecond * ((now - h.at) / 1000) + slack;
            over = Math.max(over, admitted - h.admitted - bound);
          }
          history.push({ at: now, admitted });
          over = Math.max(over, admitted - (s.perDay + slack));
        }
        expect(over).toBeLessThanOrEqual(1e-6);
      }),
      { numRuns: 40 },
    );
  });
});
