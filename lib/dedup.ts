/**
 * Deduplication by event id for downstream consumers. Intake delivers at least once:
 * after a crash, a record can appear twice downstream, always with the same `id` (the
 * `intake-id` header and the value's `id`). A consumer that must act once per event keeps
 * the ids it has seen in a bounded window: duplicates arrive close together (a resend
 * follows the original within the outbound log's backlog), so a window of ids larger than
 * that backlog catches every duplicate with bounded memory.
 */
import { HEADER_ID, headerString } from './records/headers';
import type { HeaderValue } from './records/headers';

export class Deduplicator {
  private readonly seen = new Map<string, true>();
  private duplicates = 0;

  /** `maxIds`: how many recent ids to remember (memory is O(maxIds)). */
  constructor(private readonly maxIds = 1_000_000) {}

  /** True the first time an id is seen, false for a duplicate within the window. */
  firstTime(id: string): boolean {
    if (this.seen.has(id)) {
      // Refresh its place, so ids that keep recurring stay in the window.
      this.seen.delete(id);
      this.seen.set(id, true);
      this.duplicates += 1;
      return false;
    }
    this.seen.set(id, true);
    if (this.seen.size > this.maxIds) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  get duplicateCount(): number {
    return this.duplicates;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** The event id of a downstream record: the `intake-id` header, else the value's `id`. */
export function eventId(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  value: Buffer | null,
): string | null {
  const header = headerString(headers, HEADER_ID);
  if (header !== undefined) return header;
  if (!value) return null;
  try {
    const parsed = JSON.parse(value.toString()) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : null;
  } catch {
    return null;
  }
}
