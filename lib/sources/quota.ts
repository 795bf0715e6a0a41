/**
 * Per-source quotas, counted in events (not requests), enforced across the fleet.
 *
 * - Per second: a token bucket of `burst` events refilled at `perSecond` events a second
 *   (from the injected clock). A request of n events takes n tokens or none: it is
 *   admitted whole or refused whole (429, `Retry-After`: the seconds until n tokens are
 *   back). A request of more events than `burst` can never pass: refused with
 *   `retryAfterSeconds: null` (the client must split it).
 * - Per day: at most `floor(perDay * (1 + perDayGrace))` events per UTC day; over it,
 *   refused until the next UTC midnight. A request of more events than that: `null`.
 * - Both checked before either is taken from; the answer names the quota that keeps the
 *   client waiting longest.
 *
 * Across the fleet: every edge keeps the whole fleet's bucket and day count for each
 * source. Its own admissions count at once; what the other edges admitted counts when
 * their usage report (lib/records/usage.ts, published every T) reaches it (`merge`):
 * their events are taken from its bucket, which may go below zero (a debt the refill pays
 * back before anything more is admitted), and added to its day count.
 *
 * How exact it is: let N edges report every T seconds, reports arriving within D, so
 * L = T + D is the age of the oldest usage an edge does not know yet. Within any span of
 * t seconds, the fleet admits at most
 *
 *     burst + perSecond * t + (N - 1) * (burst + perSecond * L)
 *
 * events: the last edge to admit knew all but what each other edge admitted within L,
 * at most one bucket's worth each. The excess is paid back as debt (the edges refuse the
 * source until their buckets refill), so over a longer time the rate is `perSecond`. A
 * UTC day goes over its allowance by at most what N - 1 edges admit within L: with a
 * per-second quota, (N - 1) * (burst + perSecond * L). Once per edge start: an edge
 * that starts knows nothing of the bucket before it (it starts full, taking the other
 * runs' reports it reads as they are), so a restart or a new edge may add one `burst`;
 * a run that started after this edge's is counted in full when first heard of. The day
 * count survives a restart (the edge reads its own last report back, `merge`), but for
 * what the edge admitted after that report.
 */
import { isoTime } from '../clock';
import type { SourceQuotas } from '../records/source';
import type { UsageReport } from '../records/usage';

export type QuotaName = 'per-second' | 'per-day';

export type QuotaDecision =
  | { ok: true }
  | {
      ok: false;
      quota: QuotaName;
      /** The limit that refused: events per second, or events per day with the grace. */
      limit: number;
      /** Seconds until the request can pass; null if it never can (more events than the quota). */
      retryAfterSeconds: number | null;
    };

const DAY_MS = 86_400_000;
const OK: QuotaDecision = { ok: true };

/** The UTC day of `ms` (epoch ms), `YYYY-MM-DD`. */
export const utcDay = (ms: number): string => isoTime(ms).slice(0, 10);

/** Whole seconds from `ms` to the next UTC midnight (at least 1). */
export const secondsToNextUtcDay = (ms: number): number =>
  Math.max(1, Math.ceil((DAY_MS - (((ms % DAY_MS) + DAY_MS) % DAY_MS)) / 1000));

/** The bucket's size: `burst`, or one second's worth. */
export const burstOf = (q: SourceQuotas & { perSecond: number }): number =>
  q.burst ?? Math.max(1, Math.ceil(q.perSecond));

/** The events a UTC day admits, grace included. */
export const dailyAllowance = (q: SourceQuotas & { perDay: number }): number =>
  Math.floor(q.perDay * (1 + q.perDayGrace));

/** What another edge (by name) reported for one source. */
interface Remote {
  since: string;
  total: number;
  day: string;
  today: number;
}

/** One source's usage as this edge sees it. */
interface Usage {
  /** The fleet's bucket; undefined while the source has no per-second quota. */
  tokens: number | undefined;
  at: number;
  /** Admitted by this edge since it started (reported: others take it from their buckets). */
  total: number;
  day: string;
  /** Admitted by this edge on `day`, after `base`: what an earlier run of it reported. */
  today: number;
  base: number;
  remotes: Map<string, Remote>;
}

export interface FleetQuotaDeps {
  /** This edge's instance name (its reports are keyed by it). */
  edge: string;
  /** A source's quotas now (none: no quota). */
  quotasOf: (source: string) => SourceQuotas | undefined;
  /** Epoch ms. */
  now?: () => number;
}

/** The quotas of every source, as one edge enforces them for the whole fleet. */
export class FleetQuotas {
  private readonly usage = new Map<string, Usage>();
  private readonly now: () => number;
  private readonly started: number;
  private readonly since: string;

  constructor(private readonly deps: FleetQuotaDeps) {
    this.now = deps.now ?? Date.now;
    this.started = this.now();
    this.since = isoTime(this.started);
  }

  /** Admits `events` events of `source` (and counts them), or says which quota refuses and for how long. */
  take(source: string, events: number): QuotaDecision {
    const q = this.deps.quotasOf(source);
    if (!q || events <= 0) return OK;
    const now = this.now();
    const u = this.usageOf(source, now);
    let refusal: QuotaDecision = OK;
    if (q.perSecond !== undefined) {
      const tokens = this.refill(u, q, now)!;
      if (events > burstOf({ ...q, perSecond: q.perSecond }))
        refusal = refuse('per-second', q.perSecond, null);
      else if (tokens < events)
        refusal = refuse('per-second', q.perSecond, Math.ceil((events - tokens) / q.perSecond));
    }
    if (q.perDay !== undefined) {
      const allowance = dailyAllowance({ ...q, perDay: q.perDay });
      if (this.usedToday(u) + events > allowance)
        refusal = longer(
          refusal,
          refuse('per-day', allowance, events > allowance ? null : secondsToNextUtcDay(now)),
        );
    }
    if (!refusal.ok) return refusal;
    if (u.tokens !== undefined) u.tokens -= events;
    u.total += events;
    u.today += events;
    return OK;
  }

  /**
   * Whether one more event of `source` would be refused now, without taking it: a request
   * can be refused before its body is read while the source's bucket is empty or its day
   * used up.
   */
  peek(source: string): QuotaDecision {
    const q = this.deps.quotasOf(source);
    if (!q) return OK;
    const now = this.now();
    const u = this.usageOf(source, now);
    let refusal: QuotaDecision = OK;
    if (q.perSecond !== undefined) {
      const tokens = this.refill(u, q, now)!;
      if (tokens < 1)
        refusal = refuse('per-second', q.perSecond, Math.ceil((1 - tokens) / q.perSecond));
    }
    if (q.perDay !== undefined) {
      const allowance = dailyAllowance({ ...q, perDay: q.perDay });
      if (this.usedToday(u) + 1 > allowance)
        refusal = longer(refusal, refuse('per-day', allowance, secondsToNextUtcDay(now)));
    }
    return refusal;
  }

  /**
   * Counts another edge's usage report (a newer one of an edge replaces its older one; a
   * repeated or older one changes nothing). An earlier run of this edge (same name,
   * another `since`) gives back the day's count it had reached.
   */
  merge(report: UsageReport): void {
    const now = this.now();
    for (const [source, reported] of Object.entries(report.sources)) {
      const u = this.usageOf(source, now);
      if (report.edge === this.deps.edge) {
        if (report.since !== this.since && report.day === u.day)
          u.base = Math.max(u.base, reported.today);
        continue;
      }
      const prev = u.remotes.get(report.edge);
      // Events that edge admitted that this one did not count yet: since its last report,
      // or, for a run it never heard of, all of them if that run started after this one.
      const fresh =
        prev?.since === report.since
          ? reported.total - prev.total
          : Date.parse(report.since) >= this.started
            ? reported.total
            : 0;
      if (fresh > 0) {
        const q = this.deps.quotasOf(source);
        if (q?.perSecond !== undefined) u.tokens = this.refill(u, q, now)! - fresh;
      }
      const sameDay = prev !== undefined && prev.day === report.day;
      u.remotes.set(report.edge, {
        since: report.since,
        total: prev?.since === report.since ? Math.max(prev.total, reported.total) : reported.total,
        day: prev && prev.day > report.day ? prev.day : report.day,
        today: sameDay
          ? Math.max(prev.today, reported.today)
          : prev && prev.day > report.day
            ? prev.today
            : reported.today,
      });
    }
  }

  /** This edge's usage report: what it admitted per source, to publish every T. */
  report(): UsageReport {
    const now = this.now();
    const day = utcDay(now);
    const sources: UsageReport['sources'] = {};
    for (const [source, u] of this.usage) {
      this.rollOver(u, day);
      if (u.total > 0 || u.base > 0) sources[source] = { total: u.total, today: u.base + u.today };
    }
    return { edge: this.deps.edge, since: this.since, at: isoTime(now), day, sources };
  }

  /** Forgets a removed source. */
  remove(source: string): void {
    this.usage.delete(source);
  }

  /** The events of `source` admitted fleet-wide today, as far as this edge knows. */
  today(source: string): number {
    return this.usage.has(source) ? this.usedToday(this.usageOf(source, this.now())) : 0;
  }

  private usedToday(u: Usage): number {
    let used = u.base + u.today;
    for (const r of u.remotes.values()) if (r.day === u.day) used += r.today;
    return used;
  }

  private usageOf(source: string, now: number): Usage {
    let u = this.usage.get(source);
    if (!u) {
      u = {
        tokens: undefined,
        at: now,
        total: 0,
        day: utcDay(now),
        today: 0,
        base: 0,
        remotes: new Map(),
      };
      this.usage.set(source, u);
    }
    this.rollOver(u, utcDay(now));
    return u;
  }

  /** A new UTC day: nothing admitted yet; other edges' older days are forgotten. */
  private rollOver(u: Usage, day: string): void {
    if (u.day === day) return;
    u.day = day;
    u.today = 0;
    u.base = 0;
    for (const [edge, r] of u.remotes) if (r.day < day) u.remotes.delete(edge);
  }

  /** The bucket's tokens at `now` (full when first seen), or undefined without a per-second quota. */
  private refill(u: Usage, q: SourceQuotas, now: number): number | undefined {
    if (q.perSecond === undefined) return (u.tokens = undefined);
    const burst = burstOf({ ...q, perSecond: q.perSecond });
    const elapsed = Math.max(0, now - u.at) / 1000;
    u.tokens = Math.min(burst, u.tokens === undefined ? burst : u.tokens + elapsed * q.perSecond);
    u.at = Math.max(u.at, now);
    return u.tokens;
  }
}

const refuse = (
  quota: QuotaName,
  limit: number,
  retryAfterSeconds: number | null,
): QuotaDecision => ({
  ok: false,
  quota,
  limit,
  retryAfterSeconds: retryAfterSeconds === null ? null : Math.max(1, retryAfterSeconds),
});

/** Of two refusals, the one that keeps the client waiting longest (never passing: longest). */
function longer(a: QuotaDecision, b: QuotaDecision): QuotaDecision {
  if (a.ok) return b;
  if (b.ok || a.retryAfterSeconds === null) return a;
  if (b.retryAfterSeconds === null) return b;
  return b.retryAfterSeconds > a.retryAfterSeconds ? b : a;
}
