/**
 * Sender-based message logging (`INTAKE_LOGGING=sbml`, the default), and `none`, the same
 * flow without the log: hold -> commit the input -> release -> the sender sends ->
 * acknowledged (progress, replies and metrics listen to the sender).
 *
 * - With the log (SBML): `hold` appends every record to the durable outbound log (one
 *   sync per chunk: group commit); the input may then be committed at once, and `release`
 *   hands the records to the sender, which deletes them on acknowledgement. Consumption
 *   runs ahead of downstream latency, bounded by the log's size.
 * - Without it (`none`, for comparison): `hold` sends and resolves on the downstream
 *   acknowledgement. Nothing is stored locally; a crash re-reads and re-processes the
 *   uncommitted input instead of resending.
 *
 * Either way the hold resolves only when committing the input can no longer lose its
 * output, and a partition's state is handed over through the delivery progress of its
 * previous owner (`state/handover.ts`). A commit that fails retriably is retried while the
 * partition is this worker's (never by processing the chunk again, which would send its
 * records again); a lost membership or a revoked partition abandons the chunk, its
 * records sent.
 *
 * An abandoned chunk's records are held all the same (logged, or sent and acknowledged
 * without the log), so re-reading its input would only send them again. When the
 * partition stays this worker's (the usual case: its commit met a rebalance that gave the
 * partition back), `claim()` starts the partition after it: the chunk began at this
 * worker's own last commit (or, before its first, where it started the partition), and
 * the group's committed offset still being there says no other worker processed the
 * partition since, so the state kept here already holds the chunk's events (the state
 * restorer makes the same check, and keeps that state); a worker that keeps no state
 * skips it with no check. A revoked partition, a committed
 * offset that moved, or one that cannot be read re-read the input as before: duplicates
 * keep their id, and nothing is skipped that is not held.
 */
import { IntakeError, hasCode } from '../../../../lib/errors';
import type { Logger } from '../../../../lib/logger';
import type { DeliveryProgress } from '../../outbound/progress';
import type { AcknowledgedListener, OutboundRecord } from '../../outbound/record';
import type { Chunk, HandOffContext, StateHandover, WorkerDelivery } from '../delivery';
import type { OutboundLogPort, OutboundLogStats } from './log-port';
import type { OutboundSender } from './sender';

export interface SbmlDeliveryDeps {
  sender: OutboundSender;
  /** The durable outbound log (SBML), or null (`none`: send and wait). */
  log: OutboundLogPort | null;
  progress: DeliveryProgress;
  logger: Logger;
  /** The hand-over of partitions' state (absent: restore at once, tests). */
  handover?: StateHandover;
  /**
   * Whether the worker keeps state derived from its input (scores, recent ids; default
   * true). Without it a held chunk is skipped with no check: no state can disagree.
   */
  keepsState?: boolean;
  /** Started by `start()` and stopped by `close()` (what the hand-over follows). */
  resources?: { start(): Promise<void>; stop(): Promise<void> };
  /** Called with the duration of each durable append (for metrics). */
  onAppend?: (seconds: number) => void;
  /** Fault-injection point between the log sync and the commit (tests only). */
  afterAppend?: () => void;
}

const NO_HANDOVER: StateHandover = {
  settled: () => Promise.resolve(new Map()),
  committed: () => Promise.resolve(new Map()),
};

export class SbmlDelivery implements WorkerDelivery {
  private storeError: string | null = null;
  private readonly log: Logger;
  readonly handover: StateHandover;
  /** The progress is published on an interval (`main.ts`), once records are acknowledged. */
  readonly writesProgress = false;
  /**
   * Per partition, the abandoned chunks held here: from the committed offset they began
   * at (`from`) to the offset after them (`next`).
   */
  private readonly held = new Map<number, { from: bigint; next: bigint }>();
  /** This generation's claims of the partitions with held chunks. */
  private readonly claims = new Map<number, Promise<bigint>>();

  constructor(private readonly deps: SbmlDeliveryDeps) {
    this.log = deps.logger.child({ module: 'sbml-delivery' });
    this.handover = deps.handover ?? NO_HANDOVER;
  }

  async start(): Promise<number> {
    const resent = await this.deps.sender.resendPending();
    if (resent > 0) this.log.info({ resent }, 'outbound_log_resent');
    await this.deps.resources?.start();
    return resent;
  }

  /**
   * A new generation: a revoked partition's held chunks are forgotten (its next owner
   * re-reads them), and a kept one's are checked again at its next claim.
   */
  assigned(partitions: readonly number[]): void {
    this.claims.clear();
    for (const p of [...this.held.keys()]) if (!partitions.includes(p)) this.held.delete(p);
  }

  /**
   * Where the partition starts: after the chunks this worker abandoned but holds, when no
   * other worker processed the partition since (see the module doc); else 0n.
   */
  claim(partition: number): Promise<bigint> {
    const held = this.held.get(partition);
    if (!held) return Promise.resolve(0n);
    if (this.deps.keepsState === false) return Promise.resolve(held.next);
    let claimed = this.claims.get(partition);
    if (!claimed) {
      claimed = this.handover.committed([partition]).then(
        (offsets) => {
          if (offsets.get(partition) === held.from) return held.next;
          this.held.delete(partition);
          return 0n;
        },
        (err: unknown) => {
          this.log.warn({ err, partition }, 'held_chunk_check_failed');
          this.claims.delete(partition);
          return 0n;
        },
      );
      this.claims.set(partition, claimed);
    }
    return claimed;
  }

  /** An abandoned chunk whose records are held: `claim()` may start after it. */
  private abandoned(chunk: Chunk): void {
    const { partition } = chunk;
    const from = BigInt(chunk.first);
    const next = BigInt(chunk.last) + 1n;
    const held = this.held.get(partition);
    this.claims.delete(partition);
    if (held && from >= held.from && from <= held.next) {
      // Contiguous with the chunks held already: the committed offset is still theirs.
      if (next > held.next) held.next = next;
      this.waitFor(chunk);
      return;
    }
    // Only a chunk right after this worker's own last commit of the partition, or, before
    // its first one, where it started the partition (the committed offset it restored the
    // state at): the state restorer then finds the partition as this worker left it and
    // keeps its state. Its records count in the partition's delivery progress (receipts,
    // the hand-over) as a committed chunk's do: what is skipped is delivered only once they
    // are acknowledged.
    const mine = this.deps.progress.snapshot(partition);
    if (mine === null || mine.committedNext === chunk.first) {
      this.held.set(partition, { from, next });
      this.waitFor(chunk);
    } else this.held.delete(partition);
  }

  /** A held chunk's records in the progress (without the log they are acknowledged already). */
  private waitFor(chunk: Chunk): void {
    if (this.deps.log) this.deps.progress.held(chunk.partition, chunk.records);
  }

  /**
   * Holds the records until committing their input is safe, then commits it and releases
   * them to the sender; false when the chunk was abandoned.
   */
  async handOff(chunk: Chunk, context: HandOffContext): Promise<boolean> {
    const { records } = chunk;
    if (!(await context.retrying(() => this.hold(records)))) return false;
    // A retriable commit failure (the coordinator moving, a broker restarting) is retried
    // here, not by processing the chunk again: its records are held already, and each run
    // of the chunk would send them once more.
    const commit = { refused: null as unknown };
    let committed: boolean;
    try {
      committed = await context.retrying(async () => {
        try {
          await context.commitInput((BigInt(chunk.last) + 1n).toString());
        } catch (err) {
          if (!lostMembership(err)) throw err;
          commit.refused = err;
        }
      });
    } catch (err) {
      // The entries are durable in the log whatever the commit did: send them.
      this.release(records);
      throw err;
    }
    if (commit.refused !== null || !committed) {
      // A commit can be written and still answered with an error (a worker paused past its
      // session timeout: the broker took the commit, the group moved on); withholding the
      // entries would leave them unsent until this worker restarts, so they are sent. A new
      // owner re-reads what was not committed (duplicates keep their id), this worker
      // only when another processed the partition meanwhile (`claim()`); the consumer
      // rejoins on the next heartbeat.
      this.abandoned(chunk);
      this.release(records);
      if (commit.refused !== null)
        this.log.warn(
          { err: commit.refused, partition: chunk.partition },
          'commit_refused_group_moved_on',
        );
      return false;
    }
    const held = this.held.get(chunk.partition);
    if (held && BigInt(chunk.last) + 1n >= held.next) this.held.delete(chunk.partition);
    const deferred = this.deps.log !== null;
    this.deps.progress.committed(chunk.partition, deferred ? records : [], BigInt(chunk.last));
    this.release(records);
    return true;
  }

  /**
   * Resolves when committing the input of these records can no longer lose them; rejects
   * with a retriable `STORE_FAILED` when the log cannot write (nothing of the call is then
   * in it: the caller retries with the same records).
   */
  private async hold(records: OutboundRecord[]): Promise<void> {
    const { log, sender } = this.deps;
    if (records.length === 0) return;
    if (!log) return sender.send(records);
    const started = process.hrtime.bigint();
    try {
      await log.append(records);
      this.deps.onAppend?.(Number(process.hrtime.bigint() - started) / 1e9);
      this.storeError = null;
      this.deps.afterAppend?.();
    } catch (err) {
      this.storeError = err instanceof Error ? err.message : String(err);
      throw err instanceof IntakeError
        ? err
        : new IntakeError('STORE_FAILED', `outbound log append failed: ${this.storeError}`, {
            cause: err,
          });
    }
  }

  /** After the commit (or a failed one: the log holds them, so sending is always safe). */
  private release(records: OutboundRecord[]): void {
    if (this.deps.log) this.deps.sender.dispatch(records);
  }

  /** A failing store does not pause: the consumer retries the append itself, with backoff. */
  mustPause(): boolean {
    const { log, sender } = this.deps;
    return (log?.isFull() ?? false) || !sender.healthy;
  }

  problem(): string | null {
    const { log, sender } = this.deps;
    const storeError = this.storeError ?? log?.stats().failing;
    if (storeError) return `outbound log failing: ${storeError}`;
    if (!sender.healthy) return `downstream failing: ${sender.lastError ?? 'unknown'}`;
    if (log?.isFull()) return 'outbound log full: waiting for downstream acknowledgements';
    return null;
  }

  onAcknowledged(listener: AcknowledgedListener): void {
    this.deps.sender.onAcknowledged(listener);
  }

  details(): Record<string, unknown> {
    return { outboundLog: this.logStats(), senderBacklog: this.backlog() };
  }

  logStats(): OutboundLogStats | null {
    return this.deps.log?.stats() ?? null;
  }

  backlog(): number {
    return this.deps.sender.backlog;
  }

  async drain(maxWaitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.deps.sender.drain(),
      new Promise((resolve) => (timer = setTimeout(resolve, maxWaitMs))),
    ]);
    clearTimeout(timer);
    this.deps.sender.stop();
  }

  async close(): Promise<void> {
    await this.deps.resources?.stop();
    await this.deps.log?.close();
  }
}

/** True for the commit errors that mean this member is no longer in the group's generation. */
export function lostMembership(err: unknown): boolean {
  return hasCode(err, 'KAFKA_NOT_MEMBER');
}
