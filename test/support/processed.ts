/**
 * The envelopes of given ids in the e2e fleet's intake.processed, read from the beginning
 * with a fresh group until all arrived (or the timeout passed: then what arrived).
 */
import type { Envelope } from '../../lib/envelope';
import { readTopic, testKafka } from './kafka-helpers';
import { E2E_FLEET } from './test-env';

export async function processedEnvelopes(
  ids: string[],
  timeoutMs = 90_000,
): Promise<Map<string, Envelope>> {
  const wanted = new Set(ids);
  const found = new Map<string, Envelope>();
  let scanned = 0;
  await readTopic(
    testKafka(E2E_FLEET.brokers),
    'intake.processed',
    (messages) => {
      for (; scanned < messages.length; scanned++) {
        const m = messages[scanned]!;
        const id = m.headers['intake-id'] ?? '';
        if (wanted.has(id) && !found.has(id)) found.set(id, JSON.parse(m.value) as Envelope);
      }
      return found.size >= wanted.size;
    },
    timeoutMs,
  );
  return found;
}
