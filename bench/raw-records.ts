/**
 * The raw records of the worker benchmarks (`npm run bench:worker`, `npm run
 * bench:processing`): ~300 B page views, as an edge writes them to `intake.raw`.
 */
import { toKafkaMessage, wrapEvent } from '../lib/envelope';
import type { OutRecord } from '../lib/kafka/port';

/** The `n`th page view, of visitor `n % visitors`. */
export function pageViewRecord(n: number, visitors: number): OutRecord {
  const r = wrapEvent(
    {
      type: 'page_view',
      key: `visitor-${n % visitors}`,
      data: { path: `/products/${n}`, referrer: 'https://example.com/' },
    },
    {
      source: 'bench',
      pattern: 'request-ack',
      receivedAt: new Date(),
      meta: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0' },
    },
  );
  if (!r.ok) throw new Error(r.reason);
  return toKafkaMessage(r.envelope);
}
