/**
 * A small loss audit for tests: which acknowledged ids are missing from the downstream
 * topics, and how many arrived more than once (at-least-once: duplicates keep their id).
 */
import type { KafkaClient } from '../../lib/kafka/port';
import { readTopic } from './kafka-helpers';

export interface AuditResult {
  missing: string[];
  duplicates: number;
  delivered: number;
  byTopic: Record<string, number>;
}

export async function auditDelivery(
  kafka: KafkaClient,
  topics: string[],
  expected: string[],
  timeoutMs = 120_000,
): Promise<AuditResult> {
  const wanted = new Set(expected);
  const counts = new Map<string, number>();
  let scanned = 0;
  const messages = await readTopic(
    kafka,
    topics,
    (m) => {
      for (const x of m.slice(scanned)) {
        const id = x.headers['intake-id'];
        if (id !== undefined && wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      scanned = m.length;
      return counts.size >= wanted.size;
    },
    timeoutMs,
  );
  const byTopic: Record<string, number> = {};
  for (const m of messages) byTopic[m.topic] = (byTopic[m.topic] ?? 0) + 1;
  const duplicates = [...counts.values()].reduce((n, c) => n + (c - 1), 0);
  return {
    missing: expected.filter((id) => !counts.has(id)),
    duplicates,
    delivered: counts.size,
    byTopic,
  };
}
