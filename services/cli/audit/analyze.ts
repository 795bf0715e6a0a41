/**
 * The loss audit's arithmetic, apart from Kafka: given what the raw, processed and DLQ
 * topics hold (and, for a test run, the ids the load generator got acknowledged), it
 * reports
 *
 * - `lost`: acknowledged ids absent from `intake.raw` (a 2xx for data that was not durable);
 * - `unprocessed`: ids in `intake.raw` found neither in `intake.processed` nor in
 *   `intake.dlq` (lag, or a loss in the workers), and how many of them were acknowledged;
 *   where they sit (`unprocessedRuns`: runs of consecutive raw records, per partition), which
 *   tells lag (one run at a partition's end) from records skipped (runs amid processed ones);
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
  /** Where `unprocessed` sits in intake.raw: runs of consecutive raw records, by partition. */
  unprocessedRuns: UnprocessedRun[];
  duplicates: number;
  orderViolations: string[];
}

export interface UnprocessedRun {
  partition: number;
  /** Offsets of the run's first and last raw record (the raw records scanned between them are all unprocessed). */
  from: string;
  to: string;
  records: number;
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
    unprocessedRuns: runsOf(rawIds.values(), seen),
    duplicates,
    orderViolations,
  };
}

/** Runs of consecutive unprocessed raw records (in offset order) per partition. */
function runsOf(raw: Iterable<RawRecord>, seen: ReadonlyMap<string, number>): UnprocessedRun[] {
  const byPartition = new Map<number, RawRecord[]>();
  for (const r of raw)
    (byPartition.get(r.partition) ?? byPartition.set(r.partition, []).get(r.partition)!).push(r);
  const runs: UnprocessedRun[] = [];
  for (const [partition, records] of [...byPartition].sort(([a], [b]) => a - b)) {
    records.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    let run: UnprocessedRun | null = null;
    for (const r of records) {
      if (seen.has(r.id)) {
        run = null;
      } else if (run) {
        run.to = r.offset.toString();
        run.records += 1;
      } else {
        run = { partition, from: r.offset.toString(), to: r.offset.toString(), records: 1 };
        runs.push(run);
      }
    }
  }
  return runs;
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
    'unprocessed runs (partition: offsets)': runsText(report.unprocessedRuns),
  };
}

/** `2: 100-199 (100), 4: 7-7 (1)`: the first runs, for printing. */
export function runsText(runs: readonly UnprocessedRun[]): string {
  const text = runs
    .slice(0, SAMPLE)
    .map((r) => `${r.partition}: ${r.from}-${r.to} (${r.records})`)
    .join(', ');
  return runs.length > SAMPLE ? `${text}, ... (${runs.length} runs)` : text;
}
