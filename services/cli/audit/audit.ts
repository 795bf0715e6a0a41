/**
 * `intake audit`: scans intake.raw, intake.processed and intake.dlq (from the beginning,
 * or from a time) and reports, by event id, what was lost, what is still unprocessed,
 * duplicates and per-key order (see `analyze.ts`). With `--acked FILE` (the ids a load
 * generator was told were accepted: one per line, or NDJSON with an `id` field) it checks
 * them too. Memory grows with the ids scanned: bound a live scan with `--since`.
 */
import { readFileSync } from 'node:fs';
import type { KafkaClient } from '../../../lib/kafka/port';
import { HEADER_ID, headerString } from '../../../lib/records/headers';
import type { KafkaConfig } from '../../../lib/config';
import { analyze } from './analyze';
import type { AuditReport, DownstreamRecord, RawRecord } from './analyze';
import { scanTopics } from './scan';

export interface AuditOptions {
  ackedFile?: string;
  sinceMs?: number;
  onProgress?: (read: number, total: number) => void;
}

export async function runAudit(
  kafka: KafkaClient,
  topics: KafkaConfig['topics'],
  options: AuditOptions = {},
): Promise<AuditReport> {
  const raw: RawRecord[] = [];
  const processed: DownstreamRecord[] = [];
  const dlq: DownstreamRecord[] = [];
  await scanTopics(
    kafka,
    [topics.raw, topics.processed, topics.dlq],
    (topic, partition, m) => {
      const id = headerString(m.headers, HEADER_ID);
      if (!id) return;
      const key = m.key?.toString() ?? null;
      if (topic === topics.raw) raw.push({ id, key, partition, offset: BigInt(m.offset) });
      else (topic === topics.processed ? processed : dlq).push({ id, key });
    },
    { sinceMs: options.sinceMs, onProgress: options.onProgress },
  );
  return analyze({
    raw,
    processed,
    dlq,
    acked: options.ackedFile ? readAcked(options.ackedFile) : undefined,
  });
}

/** Ids, one per line, or NDJSON lines with an `id`. */
export function readAcked(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.startsWith('{') ? String((JSON.parse(l) as { id: unknown }).id) : l.trim()));
}

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/** `30m`, `2h`, `1d` or an ISO time -> ms since the epoch. */
export function parseSince(text: string, now = Date.now()): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (m) return now - Number(m[1]) * UNIT_MS[m[2]!]!;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`--since ${text}: use 30m, 2h, 1d or an ISO time`);
  return t;
}
