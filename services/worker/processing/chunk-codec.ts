/**
 * A chunk's crossing between the consumer's thread and the processing thread, both ways,
 * with every byte (keys, values, header values) packed into one transferred buffer: a
 * record's `Buffer` posted as it is would be copied with the whole buffer it is a view
 * of (a fetch response, an 8 KiB pool slab). The receiving side gets views, no copies.
 */
import type { ConsumedRecord } from '../../../lib/kafka/port';
import type { BatchOutcome } from '../consumer/process-batch';
import { packOutbound, packedBuffers, unpackOutbound } from '../outbound/packed';
import type { PackedOutbound } from '../outbound/packed';

/**
 * Raw records. `lengths` holds per record its key's and value's length (-1: null) and its
 * header count, then per header its name's index in `headerNames` and its value's length.
 */
export interface PackedRecords {
  bytes: ArrayBuffer;
  lengths: Int32Array;
  headerNames: string[];
  offsets: string[];
  timestamps: string[];
}

/** A chunk's outcome: its counts, and its records packed as columns (`outbound/packed.ts`). */
export interface PackedOutcome extends PackedOutbound {
  counts: Pick<BatchOutcome, 'processed' | 'dlq' | 'dropped' | 'duplicates'>;
}

export function packRecords(messages: readonly ConsumedRecord[]): PackedRecords {
  let size = 0;
  let slots = 0;
  for (const m of messages) {
    size += (m.key?.length ?? 0) + (m.value?.length ?? 0);
    slots += 3;
    for (const name in m.headers) {
      size += m.headers[name]?.length ?? 0;
      slots += 2;
    }
  }
  const bytes = new ArrayBuffer(size);
  const target = Buffer.from(bytes);
  const lengths = new Int32Array(slots);
  const headerNames: string[] = [];
  const nameIndex = new Map<string, number>();
  const offsets = new Array<string>(messages.length);
  const timestamps = new Array<string>(messages.length);
  let at = 0;
  let slot = 0;
  const put = (b: Buffer | null | undefined): void => {
    if (!b) {
      lengths[slot++] = -1;
      return;
    }
    b.copy(target, at);
    at += b.length;
    lengths[slot++] = b.length;
  };
  messages.forEach((m, i) => {
    offsets[i] = m.offset;
    timestamps[i] = m.timestamp;
    put(m.key);
    put(m.value);
    const countSlot = slot++;
    let count = 0;
    for (const name in m.headers) {
      let index = nameIndex.get(name);
      if (index === undefined) {
        index = headerNames.push(name) - 1;
        nameIndex.set(name, index);
      }
      lengths[slot++] = index;
      put(m.headers[name]);
      count += 1;
    }
    lengths[countSlot] = count;
  });
  return { bytes, lengths, headerNames, offsets, timestamps };
}

export function unpackRecords(packed: PackedRecords): ConsumedRecord[] {
  const { bytes, lengths, headerNames, offsets, timestamps } = packed;
  const out = new Array<ConsumedRecord>(offsets.length);
  let at = 0;
  let slot = 0;
  const take = (): Buffer | null => {
    const n = lengths[slot++]!;
    if (n < 0) return null;
    const b = Buffer.from(bytes, at, n);
    at += n;
    return b;
  };
  for (let i = 0; i < out.length; i++) {
    const key = take();
    const value = take();
    const count = lengths[slot++]!;
    const headers: Record<string, Buffer | undefined> = {};
    for (let h = 0; h < count; h++) {
      const name = headerNames[lengths[slot++]!]!;
      headers[name] = take() ?? undefined;
    }
    out[i] = { offset: offsets[i]!, timestamp: timestamps[i]!, key, value, headers };
  }
  return out;
}

export function packOutcome(outcome: BatchOutcome): PackedOutcome {
  const { processed, dlq, dropped, duplicates } = outcome;
  return { counts: { processed, dlq, dropped, duplicates }, ...packOutbound(outcome.records) };
}

/** The outcome with its records' values as views of the packed bytes (`ids` stay where they were made). */
export function unpackOutcome(packed: PackedOutcome): Omit<BatchOutcome, 'ids'> {
  return { ...packed.counts, records: unpackOutbound(packed) };
}

/** The buffers a packed message transfers (not copied). */
export function transferOf(packed: PackedRecords | PackedOutcome): ArrayBuffer[] {
  if ('fields' in packed) return packedBuffers(packed);
  return [packed.bytes, packed.lengths.buffer as ArrayBuffer];
}
