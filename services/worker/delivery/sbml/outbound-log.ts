/**
 * The worker's durable outbound log (sender-based message logging), on LMDB (`lmdb`).
 *
 * Guarantees:
 * - `append()` resolves only after its entries are committed and flushed to disk (LMDB's
 *   synced commits: crash-proof, a torn write cannot corrupt the store). NOTE:
 *   `overlappingSync: false`: lmdb-js' default on Linux resolves a write once committed
 *   and syncs it afterwards (durable only when `db.flushed` resolves), which would let a
 *   power loss or an OS crash take an entry whose raw offset was already committed; with
 *   it off, the sync is part of the commit, still on lmdb-js' writer thread. Appends
 *   issued in the same event turn share one transaction and one sync: group commit. The
 *   store counts its real commits (`stats().syncs`, from LMDB's write transaction ids).
 * - A failing store (disk full, I/O error) rejects the append with a retriable
 *   `STORE_FAILED`; nothing is reported durable that is not. The store stays usable: once
 *   space is free again the next append succeeds (test/worker/outbound/
 *   outbound-log.disk.test.ts proves it on a full tmpfs).
 * - Sequence numbers increase across restarts (the next one follows the highest key on
 *   disk), so `pending()` returns entries in the order they were appended.
 * - One entry per append: its records packed as columns (`outbound/packed.ts`), so a chunk
 *   costs one put and one encoding of a few arrays, not one per record. An entry is
 *   deleted once all its records are acknowledged; the counts (`entries`, `bytes`) drop
 *   per acknowledged record. After a crash, the records of a partly acknowledged entry are
 *   sent again, like those of a lost delete.
 * - Deletes are committed too, but a delete lost in a crash only means a resend of an
 *   already acknowledged record: a downstream duplicate with the same id.
 * - Entries of earlier versions (one record each) are read and resent as before.
 *
 * Why LMDB: a memory-mapped B+tree with synced commits from its own writer thread, so a
 * sync never blocks the event loop (heartbeats, other partitions); appends of one turn
 * share a commit. SQLite (better-sqlite3, WAL, synchronous=FULL) appends faster in
 * isolation for small chunks but syncs on the main thread; LMDB was faster for the loaded
 * worker's shape (3 partitions at once, large chunks). Figures: `npm run
 * bench:outbound-log`, docs/performance.md.
 *
 * A full disk, and the choices that make it a retriable error rather than a crash:
 * - No write map (`useWritemap: false`, lmdb-js' default, pinned here): pages are written
 *   with pwrite, so a full filesystem fails the commit (ENOSPC, or EIO for a short write)
 *   before the meta page moves; the last committed state stays intact. With a write map,
 *   the file is grown sparse and written through the mapping: a full tmpfs or disk would
 *   kill the process with SIGBUS instead.
 * - The map size starts small and lmdb-js grows it on MDB_MAP_FULL; without a write map
 *   that only reserves address space, the file grows as pages are written.
 * - `eventTurnBatching: false`: with it on, lmdb-js starts each event turn's batch with an
 *   internal promise that nobody awaits, so a failed commit becomes an unhandled rejection
 *   that kills the worker even though our own append handles its error (the family of
 *   kriszyp/lmdb-js#368). Appends of one turn still share one transaction (the queued
 *   transaction takes the callbacks of the turn). The real cause of a failed commit is in
 *   lmdb-js' separate `commitError` promise, which we always handle (same issue).
 */
import { open } from 'lmdb';
import type { RootDatabase } from 'lmdb';
import { readDlqHeaders } from '../../../../lib/records/dlq';
import { HEADER_ID, HEADER_REPLY_TO } from '../../../../lib/records/headers';
import { IntakeError } from '../../../../lib/errors';
import type { Logger } from '../../../../lib/logger';
import type { OutboundLogPort, OutboundLogStats } from './log-port';
import { packOutbound, unpackOutbound } from '../../outbound/packed';
import type { OutboundRecord } from '../../outbound/record';

export interface OutboundLogOptions {
  dir: string;
  /** Above this many entries, `isFull()` is true and the worker pauses consumption. */
  maxEntries: number;
  /** Above this many value bytes, `isFull()` is true. */
  maxBytes: number;
  logger: Logger;
}

/**
 * An entry: one appended chunk, its records packed as columns (`outbound/packed.ts`),
 * keyed by its first record's sequence number; its records have the `n` numbers from it.
 */
interface StoredChunk {
  n: number;
  topics: string[];
  fields: Buffer;
  text: string;
  textLengths: Buffer;
  bytes: Buffer;
  lengths: Buffer;
}

/** An entry written by versions before the chunk entries: one record, keyed by its number. */
interface StoredRecord {
  t: string;
  p: number;
  k: string;
  v: Buffer;
  h: Record<string, string>;
  sp: number;
  so: string;
  /** The outcome's kind, and a dead letter's reason and step. */
  o?: OutboundRecord['outcome']['kind'];
  x?: [reason: string, step: string];
  r?: string;
}

type Stored = StoredChunk | StoredRecord;

/** An entry in memory: its key, its records not yet acknowledged, and their value sizes. */
interface LiveEntry {
  key: number;
  unacknowledged: number;
  sizes: Int32Array;
}

/** How many records `pending()` reads at a time (whole entries: a slice may hold more). */
const PENDING_SLICE = 5000;

export async function openOutboundLog(options: OutboundLogOptions): Promise<OutboundLogPort> {
  const db = open<Stored, number>({
    path: options.dir,
    compression: false,
    encoding: 'msgpack',
    useWritemap: false,
    eventTurnBatching: false,
    overlappingSync: false,
  });
  const log = new LmdbOutboundLog(db, options);
  await log.init();
  return log;
}

class LmdbOutboundLog implements OutboundLogPort {
  private nextSeq = 1;
  private entries = 0;
  private bytes = 0;
  private appends = 0;
  private removes = 0;
  private syncs = 0;
  private lastTxn = -1;
  private failures = 0;
  private failing: string | null = null;
  /** The entry of every record not yet acknowledged, by its sequence number. */
  private readonly live = new Map<number, LiveEntry>();
  /** Entries whose records are all acknowledged and whose delete failed: deleted next time. */
  private unlinked: LiveEntry[] = [];
  private readonly log: Logger;

  constructor(
    private readonly db: RootDatabase<Stored, number>,
    private readonly options: OutboundLogOptions,
  ) {
    this.log = options.logger.child({ module: 'outbound-log' });
  }

  /** Counts what a previous run left, record by record. */
  async init(): Promise<void> {
    for (const { key, value } of this.db.getRange({})) {
      const sizes = isChunk(value)
        ? new Int32Array(copyOf(value.lengths))
        : Int32Array.of(value.v.length);
      this.track(key, sizes);
      this.nextSeq = Math.max(this.nextSeq, key + sizes.length);
    }
    await Promise.resolve();
    this.log.info(
      { dir: this.options.dir, entries: this.entries, bytes: this.bytes },
      'outbound_log_opened',
    );
  }

  /** One entry per call: the records packed as columns, written in one transaction. */
  async append(records: OutboundRecord[]): Promise<void> {
    if (records.length === 0) return;
    const first = this.nextSeq;
    this.nextSeq += records.length;
    const packed = packOutbound(records);
    try {
      await this.db.transaction(() => {
        this.countSync();
        this.db.putSync(first, {
          n: records.length,
          topics: packed.topics,
          fields: bytesOf(packed.fields),
          text: packed.text,
          textLengths: bytesOf(packed.textLengths),
          bytes: Buffer.from(packed.bytes),
          lengths: bytesOf(packed.lengths),
        });
      });
    } catch (err) {
      throw await this.failed('append', err, records.length);
    }
    this.failing = null;
    let seq = first;
    for (const r of records) r.seq = seq++;
    this.track(first, packed.lengths);
    this.appends += records.length;
  }

  /**
   * Acknowledged records leave the count at once; an entry is deleted once all its records
   * are acknowledged. Seqs already removed are ignored; a failed delete is retried by the
   * next call (the sender retries with the same seqs).
   */
  async remove(seqs: number[]): Promise<void> {
    for (const s of seqs) {
      const entry = this.live.get(s);
      if (entry === undefined) continue;
      this.live.delete(s);
      this.entries -= 1;
      this.bytes -= entry.sizes[s - entry.key]!;
      this.removes += 1;
      if (--entry.unacknowledged === 0) this.unlinked.push(entry);
    }
    if (this.unlinked.length === 0) return;
    // This call deletes these; entries emptied meanwhile by another call are that call's.
    const unlinked = this.unlinked;
    this.unlinked = [];
    try {
      await this.db.transaction(() => {
        this.countSync();
        for (const entry of unlinked) this.db.removeSync(entry.key);
      });
    } catch (err) {
      this.unlinked.push(...unlinked);
      throw await this.failed('remove', err, unlinked.length);
    }
  }

  /**
   * The records not acknowledged, in slices of about `PENDING_SLICE` records (whole
   * entries), each read when it is reached: a caller may wait between records (e.g. to let
   * the sender run) without holding a read transaction open, and the entries it deletes
   * meanwhile are behind the next slice.
   */
  *pending(): Iterable<OutboundRecord> {
    for (let start = 0; ;) {
      const slice: OutboundRecord[] = [];
      let read = 0;
      for (const { key, value } of this.db.getRange({ start })) {
        read += 1;
        for (const record of recordsOf(key, value))
          if (this.live.has(record.seq!)) slice.push(record);
        start = key + 1;
        if (slice.length >= PENDING_SLICE) break;
      }
      if (read === 0) return;
      yield* slice;
    }
  }

  private track(key: number, sizes: Int32Array): void {
    const entry: LiveEntry = { key, unacknowledged: sizes.length, sizes };
    for (let i = 0; i < sizes.length; i++) {
      this.live.set(key + i, entry);
      this.bytes += sizes[i]!;
    }
    this.entries += sizes.length;
  }

  stats(): OutboundLogStats {
    return {
      entries: this.entries,
      bytes: this.bytes,
      appends: this.appends,
      syncs: this.syncs,
      removes: this.removes,
      failures: this.failures,
      failing: this.failing,
    };
  }

  isFull(): boolean {
    return this.entries >= this.options.maxEntries || this.bytes >= this.options.maxBytes;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /**
   * A failed commit as a retriable `STORE_FAILED` with its real cause: lmdb-js rejects the
   * write with a generic "Commit failed" and the cause (ENOSPC, or EIO for a short write)
   * in `commitError`, a promise that must be handled or it kills the process.
   */
  private async failed(what: 'append' | 'remove', err: unknown, count: number): Promise<Error> {
    let cause = err;
    const commitError = (err as { commitError?: Promise<unknown> } | null)?.commitError;
    if (commitError && typeof commitError.then === 'function') {
      cause = await Promise.race([
        commitError.then(
          () => err,
          (c: unknown) => c,
        ),
        new Promise((resolve) => setTimeout(() => resolve(err), 1000).unref()),
      ]);
    }
    const message = cause instanceof Error ? cause.message : String(cause);
    const code = (cause as { code?: unknown } | null)?.code;
    const known = typeof code === 'number' || typeof code === 'string';
    const reason = `${what} failed: ${message}${known ? ` (code ${code})` : ''}`;
    this.failures += 1;
    // Only appends decide `failing` (a later append clears it); the sender reports and
    // retries a failing delete itself.
    if (what === 'append') this.failing = reason;
    this.log.error(
      { err: cause, entries: count, failures: this.failures },
      `outbound_log_${what}_failed`,
    );
    return new IntakeError('STORE_FAILED', `outbound log ${reason}`, { cause });
  }

  /** Counts each write transaction once, however many appends share it. */
  private countSync(): void {
    const txn = this.db.getWriteTxnId();
    if (txn !== this.lastTxn) {
      this.lastTxn = txn;
      this.syncs += 1;
    }
  }
}

function isChunk(value: Stored): value is StoredChunk {
  return (value as Partial<StoredChunk>).n !== undefined;
}

/** A copy in a buffer of its own: decoded bytes may share the store's read buffer, and an Int32Array needs alignment. */
function copyOf(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function bytesOf(a: Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** An entry's records, numbered from its key. */
function recordsOf(key: number, value: Stored): OutboundRecord[] {
  if (!isChunk(value)) return [recordOf(key, value)];
  const records = unpackOutbound({
    topics: value.topics,
    fields: new Int32Array(copyOf(value.fields)),
    text: value.text,
    textLengths: new Int32Array(copyOf(value.textLengths)),
    bytes: copyOf(value.bytes),
    lengths: new Int32Array(copyOf(value.lengths)),
  });
  records.forEach((r, i) => (r.seq = key + i));
  return records;
}

function recordOf(key: number, value: StoredRecord): OutboundRecord {
  const record: OutboundRecord = {
    topic: value.t,
    partition: value.p,
    key: value.k,
    value: Buffer.from(value.v),
    headers: value.h,
    // The id is not stored twice: every record carries it in its `intake-id` header.
    id: value.h[HEADER_ID] ?? '',
    source: { partition: value.sp, offset: value.so },
    outcome: storedOutcome(value),
    seq: key,
  };
  const replyTo = value.r ?? value.h[HEADER_REPLY_TO];
  if (replyTo !== undefined) record.replyTo = replyTo;
  return record;
}

/**
 * The outcome of a stored record. Records logged by earlier versions: without `o`, a side
 * record (reply-to in a header); without `x`, a dead letter's reason in its headers.
 */
function storedOutcome(value: StoredRecord): OutboundRecord['outcome'] {
  const kind = value.o ?? 'side';
  if (kind !== 'dlq') return { kind };
  if (value.x) return { kind, reason: value.x[0], step: value.x[1] };
  const dead = readDlqHeaders(value.h);
  return { kind, reason: dead?.reason ?? '', step: dead?.step ?? '' };
}
