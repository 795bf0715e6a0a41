/**
 * The offset of each record of one produce request: Kafka answers with a base offset per
 * partition, and the records of a partition were appended in request order, so a
 * record's offset is its partition's base offset plus its index in that partition.
 */
import type { Ack } from './port';

export function recordOffsets(
  records: { topic: string; partition: number }[],
  acks: readonly Ack[],
): string[] {
  const next = new Map<string, bigint>();
  for (const a of acks) next.set(`${a.topic}/${a.partition}`, BigInt(a.baseOffset));
  return records.map((r) => {
    const tp = `${r.topic}/${r.partition}`;
    const offset = next.get(tp) ?? -1n;
    if (offset >= 0n) next.set(tp, offset + 1n);
    return offset.toString();
  });
}

/**
 * True when offset `a` is at or after offset `b`: offsets as Kafka's decimal texts (no sign,
 * no leading zeros) compare by length, then by text, without parsing.
 */
export function atOrAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a >= b;
}
