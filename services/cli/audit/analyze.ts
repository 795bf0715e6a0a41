/**
 * The loss audit's arithmetic, apart from Kafka: given what the raw, processed and DLQ
 * topics hold (and, for a test run, the ids the load generator got acknowledged), it
 * reports
 *
 * - `lost`: acknowledged ids absent from `intake.raw` (a 2xx for data that was not durable);
 * - `unprocessed`: ids in `intake.raw` found neither in `intake.processed` nor in
 *   `intake.dlq` (lag, or a loss in the workers), and how many of them were acknowledged;
 * - `duplicates`: extra copies by id downstream (at-least-once delivery, before dedup);
 * - `orderViolations`: keys whose first deliveries downstream are not in raw order.
 */

export interface RawRecord {
  id: string;
  key: string | null;
  partition: number;
  offset: bigint;
}

export interface DownstreamRecord {
  id: string;
  key: string | null;
}

export interface AuditInput {
  raw: Iterable<RawRecord>;
  /** intake.processed, in partition order as read. */
  processed: Iterable<DownstreamRecord>;
  dlq: Iterable<DownstreamRecord>;
  /** Ids a client was told were accepted; absent: the audit of a live fleet. */
  acked?: Iterable<string>;
}

export interface AuditReport {
  raw: number;
  processed: number;
  dlq: number;
  acked: number | null;
  /** Acknowledged but not in intake.raw. */
  lost: string[];
  /** In intake.raw, not downstream. */
  unprocessed: string[];
  /** Of `unprocessed`, those a client was told were accepted. */
  ackedUnprocessed: string[];
  duplicates: number;
  orderViolations: string[];
}

const SAMPLE = 20;

export function analyze(input: AuditInput): AuditReport {
  const rawIds = new Map<string, RawRecord>();
  const rawOrder = new Map<string, string[]>();
  for (const r of input.raw) {
    if (rawIds.has(r.id)) continue;
    rawIds.set(r.id, r);
    if (r.key !== null) (rawOrder.get(r.key) ?? rawOrder.set(r.key, []).get(r.key)!).push(r.id);
  }
  const seen = new Map<string, number>();
  const firstOrder = new Map<string, string[]>();
  const take = (records: Iterable<DownstreamRecord>, ordered: boolean): number => {
    let n = 0;
    for (const r of records) {
      n += 1;
      const count = seen.get(r.id) ?? 0;
      seen.set(r.id, count + 1);
      if (ordered && count === 0 && r.key !== null && rawIds.has(r.id)) {
        (firstOrder.get(r.key) ?? firstOrder.set(r.key, []).get(r.key)!).push(r.id);
      }
    }
    return n;
  };
  const processed = take(input.processed, true);
  const dlq = take(input.dlq, false);

  const acked = input.acked ? [...new Set(input.acked)] : null;
  const lost = acked ? acked.filter((id) => !rawIds.has(id)) : [];
  const unprocessed = [...rawIds.keys()].filter((id) => !seen.has(id));
  const ackedSet = acked ? new Set(acked) : null;
  const ackedUnprocessed = ackedSet ? unprocessed.filter((id) => ackedSet.has(id)) : [];
  let duplicates = 0;
  for (const c of seen.values()) duplicates += c - 1;
  const orderViolations: string[] = [];
  for (const [key, delivered] of firstOrder) {
    const position = new Map(rawOrder.get(key)!.map((id, i) => [id, i]));
    for (let i = 1; i < delivered.length; i++) {
      if (position.get(delivered[i]!)! < position.get(delivered[i - 1]!)!) {
        orderViolations.push(key);
        break;
      }
    }
  }
  return {
    raw: rawIds.size,
    processed,
    dlq,
    acked: acked ? acked.length : null,
    lost,
    unprocessed,
    ackedUnprocessed,
    duplicates,
    orderViolations,
  };
}

/** True when something acknowledged is missing (the audit's exit code 1). */
export function hasLoss(report: AuditReport): boolean {
  return report.lost.length > 0 || report.ackedUnprocessed.length > 0;
}

/** The report with id lists cut to a sample, for printing. */
export function summary(report: AuditReport): Record<string, number | string | null> {
  const sample = (ids: string[]): string =>
    ids.length === 0
      ? ''
      : `${ids.slice(0, SAMPLE).join(', ')}${ids.length > SAMPLE ? ', ...' : ''}`;
  return {
    'raw (distinct ids)': report.raw,
    'processed records': report.processed,
    'dlq records': report.dlq,
    acknowledged: report.acked,
    'LOST (acknowledged, not in raw)': report.lost.length,
    'raw but unprocessed': report.unprocessed.length,
    '... of them acknowledged': report.ackedUnprocessed.length,
    'duplicates downstream (by id)': report.duplicates,
    'keys out of order': report.orderViolations.length,
    'sample of lost': sample(report.lost),
    'sample of unprocessed': sample(report.unprocessed),
  };
}
