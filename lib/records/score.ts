/**
 * The score record: a visitor's purchase-propensity state, in the compacted scores topic
 * keyed by visitor id. The worker writes it (and restores its state from it after a
 * rebalance); edges answer `GET /v1/visitors/:id/score` from it: this is its one
 * definition.
 */

/** What a visitor did since their last purchase (and how many purchases). */
export interface VisitorCounts {
  pageViews: number;
  productViews: number;
  carts: number;
  checkouts: number;
}

export interface ScoreRecord {
  visitorId: string;
  /** In [0, 1]. */
  score: number;
  counts: VisitorCounts;
  updatedAt: string;
  /** The raw partition the visitor's events are on. */
  partition: number;
  /** The raw offset of the last event applied. */
  offset: string;
}

const COUNTS: readonly (keyof VisitorCounts)[] = [
  'pageViews',
  'productViews',
  'carts',
  'checkouts',
];

/** A value that is a score record, or null (a record the worker did not write). */
export function asScoreRecord(value: unknown): ScoreRecord | null {
  const v = value as Partial<ScoreRecord> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.score !== 'number' ||
    typeof v.offset !== 'string' ||
    !/^\d+$/.test(v.offset) ||
    typeof v.counts !== 'object' ||
    v.counts === null ||
    !COUNTS.every((c) => typeof v.counts![c] === 'number')
  )
    return null;
  return v as ScoreRecord;
}

/** A score record read back from the topic; throws on anything else (a view skips it). */
export function parseScore(value: Buffer | string): ScoreRecord {
  const record = asScoreRecord(JSON.parse(value.toString()));
  if (!record) throw new Error('not a score record');
  return record;
}
