/**
 * Outbound records packed as columns, for where many of them cross at once: from the
 * processing thread (one transferred buffer, `processing/chunk-codec.ts`) and into the
 * outbound log (one entry per chunk, `delivery/sbml/outbound-log.ts`). `fields` holds per
 * record (FIELDS wide) the index of its topic, its partition, its source partition, its
 * header count, its outcome (OUTCOME_*) and whether it has `replyTo`; every string field,
 * in a fixed order, is a piece of `text` (`textLengths`, in UTF-16 units); the values are
 * packed in `bytes` (`lengths`). Unpacked records' values are views of `bytes`; `seq` is
 * not packed.
 */
import { PROCESSED, SIDE } from './outputs';
import type { OutboundRecord } from './record';

export interface PackedOutbound {
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

export function packOutbound(records: readonly OutboundRecord[]): PackedOutbound {
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
  return { topics, fields, text: pieces.join(''), textLengths, bytes, lengths };
}

export function unpackOutbound(packed: PackedOutbound): OutboundRecord[] {
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
  return records;
}

/** The buffers of a packed chunk that a thread can transfer (not copy). */
export function packedBuffers(packed: PackedOutbound): ArrayBuffer[] {
  return [
    packed.bytes,
    ...[packed.lengths, packed.fields, packed.textLengths].map((a) => a.buffer as ArrayBuffer),
  ];
}
