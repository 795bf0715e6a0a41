/**
 * kafkajs' `read_committed` filter, mended (kafkajs 2.2.4). A fetch answer lists the
 * aborted transactions it overlaps (producer, first offset); kafkajs walks that list in the
 * order the broker sent it, which is not by first offset, and takes at most one entry per
 * record it passes. So a record of an aborted transaction reaches the consumer when the
 * list does not begin with its transaction, or when two aborted transactions began before
 * the record: with several transactional producers writing one partition (HML's progress
 * and output topics), a reader sees records no transaction committed. For HML's claim, a
 * progress record of an aborted transaction would be a position never committed: input
 * skipped, never processed.
 *
 * Mended here, for every fetch answer of the process, once: the records of aborted
 * transactions are dropped as the answer is decoded (the list sorted by first offset, every
 * transaction begun at or before a record counted, each ended by its producer's abort
 * marker), and the list is emptied, so kafkajs' own filter has nothing left to do. Control
 * records stay: kafkajs moves the position past them.
 */
import { mendOnce } from './internal';

/** A decoded record as kafkajs' record batch decoder makes it (the fields read here). */
export interface DecodedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  /** Absent on a legacy message set (magic 0 or 1): no transactions there. */
  batchContext?: { producerId: string; inTransaction: boolean };
}

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface DecodedFetch {
  responses: {
    partitions: { abortedTransactions?: AbortedTransaction[]; messages: DecodedRecord[] }[];
  }[];
}

/** Fetch versions whose answer carries the aborted transactions (4 and later). */
const VERSIONS = [4, 5, 6, 7, 8, 9, 10, 11];
/** A control record's key: version (int16), then type (int16): 0 abort, 1 commit. */
const ABORT_TYPE = 0;

export function mendKafkajsReadCommitted(): void {
  for (const version of VERSIONS)
    mendOnce(`protocol/requests/fetch/v${version}/response`, mendFetchResponse);
}

function mendFetchResponse(response: { decode: (raw: Buffer) => Promise<DecodedFetch> }): void {
  const decode = response.decode;
  response.decode = async (raw: Buffer) => {
    const answer = await decode(raw);
    for (const topic of answer.responses)
      for (const partition of topic.partitions) {
        if (!partition.abortedTransactions?.length) continue;
        partition.messages = withoutAborted(partition.messages, partition.abortedTransactions);
        partition.abortedTransactions = [];
      }
    return answer;
  };
}

/** The records (in offset order) that belong to no aborted transaction; control records kept. */
export function withoutAborted(
  records: readonly DecodedRecord[],
  aborted: readonly AbortedTransaction[],
): DecodedRecord[] {
  const pending = aborted
    .map((t) => ({ producerId: t.producerId, first: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const open = new Set<string>();
  return records.filter((r) => {
    const offset = BigInt(r.offset);
    while (pending.length > 0 && pending[0]!.first <= offset) open.add(pending.shift()!.producerId);
    if (!r.batchContext) return true;
    const { producerId, inTransaction } = r.batchContext;
    if (r.isControlRecord) {
      if (r.key && r.key.length >= 4 && r.key.readInt16BE(2) === ABORT_TYPE)
        open.delete(producerId);
      return true;
    }
    return !(inTransaction && open.has(producerId));
  });
}
