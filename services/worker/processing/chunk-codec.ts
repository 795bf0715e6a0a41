/**
 * A chunk's crossing between the consumer's thread and the processing thread, both ways,
 * with every byte (keys, values, header values) packed into one transferred buffer: a
 * record's `Buffer` posted as it is would be copied with the whole buffer it is a view
 * of (a fetch response, an 8 KiB pool slab). The receiving side gets views, no copies.
 */
import type { ConsumedRecord } from '../../../lib/kafka/port';
import type { BatchOutcome } from '../consumer/process-batch';
import { PROCESSED, SIDE } from '../outbound/outputs';
import type { OutboundRecord } from '../outbound/record';

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

/**
 * A chunk's outcome. Its records as columns: `fields` holds per record (FIELDS wide) the
 * index of its topic, its partition, its source partition, its header count, its outcome
 * (OUTCOME_*) and whether it has `replyTo`; every string field, in a fixed order, is a
 * piece of `text` (`textLengths`); values are packed in `bytes` (`lengths`). Posting the
 * records as objects costs the receiving thread three times as much.
 */
export interface PackedOutcome {
  counts: Pick<BatchOutcome, 'processed' | 'dlq' | 'dropped' | 'duplicates'>;
  topics: string[];
  fields: Int32Array;
  text: string;
  textLengths: Int32Array;
  bytes: ArrayBuffer;
  lengths: Int32Array;
}

const FIELDS = 6;
const OUTCOME_PROCESSED = 0;
const OUTCOME_SIDE = 1;
const OUTCOME_DLQ = 2;

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
  const { records } = outcome;
  let size = 0;
  for (const r of records) size += r.value.length;
  const bytes = new ArrayBuffer(size);
  const target = Buffer.from(bytes);
  const lengths = new Int32Array(records.length);
  const fields = new Int32Array(records.length * FIELDS);
  const topics: string[] = [];
  const pieces: string[] = [];
  let at = 0;
  records.forEach((r, i) => {
    r.value.copy(target, at);
    at += r.value.length;
    lengths[i] = r.value.length;
    let topic = topics.indexOf(r.topic);
    if (topic < 0) topic = topics.push(r.topic) - 1;
    let headerCount = 0;
    for (const name in r.headers) {
      pieces.push(name, r.headers[name]!);
      headerCount += 1;
    }
    pieces.push(r.key, r.id, r.source.offset);
    if (r.replyTo !== undefined) pieces.push(r.replyTo);
    const { outcome: o } = r;
    if (o.kind === 'dlq') pieces.push(o.reason, o.step);
    const f = i * FIELDS;
    fields[f] = topic;
    fields[f + 1] = r.partition;
    fields[f + 2] = r.source.partition;
    fields[f + 3] = headerCount;
    fields[f + 4] =
      o.kind === 'processed' ? OUTCOME_PROCESSED : o.kind === 'side' ? OUTCOME_SIDE : OUTCOME_DLQ;
    fields[f + 5] = r.replyTo === undefined ? 0 : 1;
  });
  const textLengths = new Int32Array(pieces.length);
  pieces.forEach((p, i) => (textLengths[i] = p.length));
  const { processed, dlq, dropped, duplicates } = outcome;
  return {
    counts: { processed, dlq, dropped, duplicates },
    topics,
    fields,
    text: pieces.join(''),
    textLengths,
    bytes,
    lengths,
  };
}

/** The outcome with its records' values as views of the packed bytes (`ids` stay where they were made). */
export function unpackOutcome(packed: PackedOutcome): Omit<BatchOutcome, 'ids'> {
  const { topics, fields, text, textLengths, bytes, lengths } = packed;
  const records = new Array<OutboundRecord>(lengths.length);
  let at = 0;
  let piece = 0;
  let textAt = 0;
  const next = (): string => {
    const end = textAt + textLengths[piece++]!;
    const s = text.slice(textAt, end);
    textAt = end;
    return s;
  };
  for (let i = 0; i < records.length; i++) {
    const f = i * FIELDS;
    const headers: Record<string, string> = {};
    for (let h = fields[f + 3]!; h > 0; h--) {
      const name = next();
      headers[name] = next();
    }
    const key = next();
    const id = next();
    const offset = next();
    const replyTo = fields[f + 5] === 1 ? next() : undefined;
    const kind = fields[f + 4];
    const outcome =
      kind === OUTCOME_PROCESSED
        ? PROCESSED
        : kind === OUTCOME_SIDE
          ? SIDE
          : { kind: 'dlq' as const, reason: next(), step: next() };
    const n = lengths[i]!;
    records[i] = {
      topic: topics[fields[f]!]!,
      partition: fields[f + 1]!,
      key,
      value: Buffer.from(bytes, at, n),
      headers,
      id,
      source: { partition: fields[f + 2]!, offset },
      outcome,
      ...(replyTo === undefined ? {} : { replyTo }),
    };
    at += n;
  }
  return { ...packed.counts, records };
}

/** The buffers a packed message transfers (not copied). */
export function transferOf(packed: PackedRecords | PackedOutcome): ArrayBuffer[] {
  const arrays = 'fields' in packed ? [packed.fields, packed.textLengths] : [];
  return [packed.bytes, ...[packed.lengths, ...arrays].map((a) => a.buffer as ArrayBuffer)];
}
