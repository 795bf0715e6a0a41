/**
 * The usage report: how many events one edge admitted per source, published at an interval
 * to the compacted usage topic keyed by the edge's instance name, so every edge enforces a
 * source's quotas across the fleet (lib/sources/quota.ts merges them). Counters are
 * cumulative, so a lost or repeated report costs nothing: the next one says it all.
 * Written and read by edges: this is its one definition.
 */
import { IntakeError } from '../errors';

export interface SourceUsage {
  /** Events admitted since `since` (this process's start). */
  total: number;
  /** Events admitted on the UTC day `day`, by this edge name, restarts included. */
  today: number;
}

export interface UsageReport {
  /** The edge's instance name. */
  edge: string;
  /** When this process started (ISO 8601): a new value is a restart, `total` starts again. */
  since: string;
  at: string;
  /** The UTC day (`YYYY-MM-DD`) of the `today` counts. */
  day: string;
  sources: Record<string, SourceUsage>;
}

export const encodeUsage = (report: UsageReport): string => JSON.stringify(report);

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** A usage report read back from the topic; throws a `BAD_INPUT` error on anything else. */
export function parseUsage(value: Buffer | string): UsageReport {
  let v: Partial<UsageReport> | null = null;
  try {
    v = JSON.parse(value.toString()) as Partial<UsageReport> | null;
  } catch {
    // refused below
  }
  const valid =
    typeof v?.edge === 'string' &&
    typeof v.since === 'string' &&
    !Number.isNaN(Date.parse(v.since)) &&
    typeof v.at === 'string' &&
    typeof v.day === 'string' &&
    DAY.test(v.day) &&
    typeof v.sources === 'object' &&
    v.sources !== null &&
    !Array.isArray(v.sources) &&
    Object.values(v.sources).every(
      (u: Partial<SourceUsage> | null) => isCount(u?.total) && isCount(u.today),
    );
  if (!valid) throw new IntakeError('BAD_INPUT', 'not a usage report');
  return v as UsageReport;
}
