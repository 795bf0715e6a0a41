/**
 * Hybrid message logging (`INTAKE_LOGGING=hml`): Kafka is the one store of what the worker
 * receives (the raw topic, RBML) and of what it sends. A chunk's outbound records (processed
 * events, dead letters, scores, rejections, replies of dropped events) and its input offset
 * are written in ONE Kafka transaction (consume-transform-produce): `read_committed` readers
 * see all of them with the input committed, or none of them with the input not committed.
 * No local log, no resend, no hand-over wait.
 *
 * - One transactional producer per raw partition, with the transactional id
 *   `<group>.<raw topic>.<partition>`. In each group generation a partition is claimed
 *   before its first chunk (`claim()`): a new producer is initialised, which fences every
 *   earlier one (another worker's, or this worker's own from before, which another worker
 *   may have fenced meanwhile), aborts their open transaction (a crashed worker's outputs
 *   are never visible) and fails their later writes; only then is the group's committed
 *   offset read, so input a zombie committed in between is skipped, not processed twice.
 *   A partition's transactions run one at a time (a lane per partition, across
 *   generations): one of the previous generation still under way ends before the new
 *   claim, and a late failure of an older generation's chunk says nothing about the
 *   partition as assigned now.
 * - `commit()` resolves true once the transaction is committed; then the acknowledged
 *   listeners (progress, replies, metrics) hear of the records, as with the sender in SBML.
 *   It resolves false when the chunk must be abandoned: its generation ended, or a claim
 *   made again after a failure finds the input already committed past the chunk. Any
 *   failure of the current generation, fencing included, aborts the transaction, drops the
 *   producer and the claim and rejects retriable: the consumer retries the same records
 *   (the pipeline does not run twice) after claiming the partition again. Fenced while the
 *   group still names this worker the owner means a zombie (a worker that has not noticed
 *   yet that the group moved on) claimed it late: claiming back ends that zombie's writes,
 *   and the zombie leaves at its next heartbeat. A worker never stands aside waiting for a
 *   rebalance that may not come.
 * - Requests inside a transaction are bounded like the sender's (per partition below the
 *   broker's `message.max.bytes`); a transaction as a whole by the transaction timeout (the
 *   broker aborts it then anyway): past it the attempt fails retriable and its producer is
 *   released, so a client retrying against a restarting broker for minutes does not hold
 *   the partition's lane (a new owner's claim waited 127 s on one in a three-broker rolling
 *   restart).
 * - Replies of processed and rejected request/response events still go out after the
 *   commit (best effort, as in SBML): the edge waiting on them must only see committed data.
 */
import { fromKafkaError, hasCode, IntakeError } from '../../../../lib/errors';
import { within } from '../../../../lib/lifecycle';
import { recordOffsets } from '../../../../lib/kafka/offsets';
import { claimTransactionalId } from '../../../../lib/kafka/fence';
import type {
  Admin,
  KafkaClient,
  Transaction,
  TransactionalProducer,
} from '../../../../lib/kafka/port';
import type { Logger } from '../../../../lib/logger';
import type { AcknowledgedListener, OutboundRecord } from '../../outbound/record';
import { groupByTopic, requestDefaults, requestLength } from '../../outbound/requests';
import type { CommittedProgress } from './committed-progress';

/**
 * The bound of an abort or a producer's close after a failed transaction: short, since the
 * next claim fences that producer anyway; a client retrying against a restarting broker
 * must not hold the partition's lane beyond the transaction's own bound.
 */
const CLEANUP_MS = 5_000;

/** The error of a cleanup past `CLEANUP_MS` (its caller goes on without it). */
const cleanupTimedOut =
  (doing: 'aborting' | 'closing', partition: number): (() => IntakeError) =>
  () =>
    new IntakeError(
      'KAFKA_UNAVAILABLE',
      `${doing} the ${doing === 'aborting' ? 'transaction' : 'producer'} of raw partition ${partition} took over ${CLEANUP_MS} ms`,
    );

export interface TransactionalDeliveryDeps {
  kafka: Pick<KafkaClient, 'transactionalProducer'>;
  /** Reads the group's committed offsets (after fencing). */
  admin: Pick<Admin, 'fetchOffsets'>;
  /** The partitions' progress records: written in each transaction, read by each claim. */
  progress?: Pick<CommittedProgress, 'record' | 'committedNext'>;
  groupId: string;
  rawTopic: string;
  logger: Logger;
  ackTimeoutMs: number;
  /** The broker aborts a transaction left open this long (a producer that died mid-way). */
  transactionTimeoutMs: number;
  /** Called after every failed transaction (for metrics). */
  onFailure?: (err: Error) => void;
}

export class TransactionalDelivery {
  private readonly producers = new Map<number, Promise<TransactionalProducer>>();
  /** Partitions claimed in this generation, with the offset to start from. */
  private readonly claims = new Map<number, Promise<bigint>>();
  /**
   * Each partition's commits, one after the other (one transaction at a time on its
   * producer, whatever the generation); a new claim waits for the one under way to end.
   */
  private readonly lanes = new Map<number, Promise<unknown>>();
  private readonly listeners: AcknowledgedListener[] = [];
  private readonly log: Logger;
  private failing: string | null = null;
  /** The group generation (one per assignment): late results of an older one change nothing. */
  private generation = 0;

  constructor(private readonly deps: TransactionalDeliveryDeps) {
    this.log = deps.logger.child({ module: 'transactional-delivery' });
  }

  /** Adds a listener of committed records (progress, replies, metrics). */
  onAcknowledged(listener: AcknowledgedListener): void {
    this.listeners.push(listener);
  }

  /** The transactional id of a raw partition's outputs. */
  transactionalId(partition: number): string {
    return `${this.deps.groupId}.${this.deps.rawTopic}.${partition}`;
  }

  /** A new group generation: every partition is claimed again; others' producers close. */
  assigned(partitions: readonly number[]): void {
    this.generation += 1;
    this.claims.clear();
    for (const p of [...this.producers.keys()]) if (!partitions.includes(p)) void this.release(p);
  }

  /**
   * Fences every earlier producer of the partition (a new one is initialised), then reads
   * the group's committed offset: the first input offset this worker may process (0 when
   * none). Once per generation, and again after a failed transaction.
   */
  claim(partition: number): Promise<bigint> {
    // A transaction of the previous generation may still commit: the claim comes after it.
    return this.claimAfter(partition, this.lanes.get(partition));
  }

  private claimAfter(partition: number, previous?: Promise<unknown>): Promise<bigint> {
    let claimed = this.claims.get(partition);
    if (!claimed) {
      claimed = (async () => {
        // Each wait's milliseconds, logged: where a slow claim spent its time.
        let mark = Date.now();
        const lap = (): number => {
          const now = Date.now();
          const ms = now - mark;
          mark = now;
          return ms;
        };
        await previous?.catch(() => undefined);
        const laneMs = lap();
        await this.fence(partition);
        const fenceMs = lap();
        const start = await this.committedOffset(partition);
        this.log.info(
          { partition, start: start.toString(), laneMs, fenceMs, offsetMs: lap() },
          'partition_claimed',
        );
        return start;
      })();
      this.claims.set(partition, claimed);
      claimed.catch(() => {
        if (this.claims.get(partition) === claimed) this.claims.delete(partition);
      });
    }
    return claimed;
  }

  /** Replaces the partition's producer with a newly initialised one (nothing of it in flight). */
  private async fence(partition: number): Promise<void> {
    await this.release(partition);
    const producer = this.openProducer(partition);
    this.producers.set(partition, producer);
    producer.catch(() => {
      if (this.producers.get(partition) === producer) this.producers.delete(partition);
    });
    await producer;
  }

  private openProducer(partition: number): Promise<TransactionalProducer> {
    return claimTransactionalId(this.deps.kafka, {
      transactionalId: this.transactionalId(partition),
      transactionTimeoutMs: this.deps.transactionTimeoutMs,
    });
  }

  /** The higher of the group's committed offset and the partition's progress record. */
  private async committedOffset(partition: number): Promise<bigint> {
    const { admin, groupId, rawTopic, progress } = this.deps;
    const [offsets, recorded] = await Promise.all([
      admin.fetchOffsets(groupId, rawTopic),
      progress?.committedNext(partition),
    ]);
    const offset = offsets.find((p) => p.partition === partition)?.offset;
    const group = offset === undefined || BigInt(offset) < 0n ? 0n : BigInt(offset);
    if (recorded === undefined || recorded <= group) return group;
    this.log.warn(
      { partition, groupOffset: offset ?? null, progress: recorded.toString() },
      'committed_offset_behind_progress',
    );
    return recorded;
  }

  /**
   * Writes `records` and commits the input from `firstOffset` up to `nextOffset`
   * (exclusive) in one transaction. True once committed; false when the chunk is to be
   * abandoned (see the module doc); rejects retriable with nothing of it visible.
   */
  async commit(
    partition: number,
    records: readonly OutboundRecord[],
    offsets: { first: string; next: string },
  ): Promise<boolean> {
    const generation = this.generation;
    const previous = this.lanes.get(partition) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        // A chunk of a generation that ended while it waited is abandoned: its batch was
        // revoked, and the partition's new claim may already have read the offset.
        if (generation !== this.generation) return false;
        // In the lane: nothing else of this partition is under way.
        const start = await this.claimAfter(partition);
        if (start > BigInt(offsets.first)) return false;
        return this.transact(partition, records, offsets.next, generation);
      });
    this.lanes.set(partition, run);
    try {
      return await run;
    } finally {
      if (this.lanes.get(partition) === run) this.lanes.delete(partition);
    }
  }

  private async transact(
    partition: number,
    records: readonly OutboundRecord[],
    nextOffset: string,
    generation: number,
  ): Promise<boolean> {
    const claimed = this.producers.get(partition);
    const producer = await claimed;
    if (!producer) {
      // Released since the claim: by a new assignment (the chunk is abandoned), or the
      // claim's producer failed (the retry claims again).
      if (generation !== this.generation) return false;
      this.claims.delete(partition);
      throw new IntakeError(
        'KAFKA_UNAVAILABLE',
        `raw partition ${partition} has no producer: claiming it again`,
      );
    }
    const written: string[] = [];
    const attempt: { tx: Transaction | null } = { tx: null };
    const { transactionTimeoutMs } = this.deps;
    const timedOut = (): IntakeError =>
      new IntakeError(
        'KAFKA_UNAVAILABLE',
        `the transaction of raw partition ${partition} did not end within ${transactionTimeoutMs} ms`,
      );
    try {
      // Bounded as the broker bounds it: past the transaction timeout it aborts the
      // transaction, so a client still retrying (a broker restarting) only holds the
      // partition's lane. The producer is released below; the next claim fences it.
      await within(
        (async () => {
          attempt.tx = await producer.begin();
          await this.write(attempt.tx, partition, records, nextOffset, written);
        })(),
        transactionTimeoutMs,
        timedOut,
      );
    } catch (err) {
      if (attempt.tx)
        await within(attempt.tx.abort(), CLEANUP_MS, cleanupTimedOut('aborting', partition)).catch(
          () => undefined,
        );
      // Only this chunk's producer: a newer generation may have claimed the partition since.
      if (this.producers.get(partition) === claimed) await this.release(partition);
      // A chunk of an older generation (its batch was revoked meanwhile): abandoned, and its
      // failure says nothing about the partition as assigned now.
      if (generation !== this.generation) return false;
      if (hasCode(err, 'KAFKA_FENCED')) this.log.warn({ err, partition }, 'fenced_claiming_back');
      const error = fromKafkaError(err, `the transaction of raw partition ${partition} failed`);
      this.failing = error.message;
      this.deps.onFailure?.(error);
      this.claims.delete(partition); // claim again before retrying: the group may have moved on
      throw error;
    }
    this.failing = null;
    // The partition's input is committed up to here now: a chunk below it (the same chunk
    // handed in again) is abandoned, not written twice.
    if (generation === this.generation)
      this.claims.set(partition, Promise.resolve(BigInt(nextOffset)));
    for (const listener of this.listeners) listener(records, written);
    return true;
  }

  /** The records, the progress record and the input offset, then the commit. */
  private async write(
    tx: Transaction,
    partition: number,
    records: readonly OutboundRecord[],
    nextOffset: string,
    written: string[],
  ): Promise<void> {
    for (let i = 0; i < records.length;) {
      const n = requestLength(records, i, requestDefaults);
      const chunk = records.slice(i, i + n);
      const metadata = await tx.sendBatch({
        timeoutMs: this.deps.ackTimeoutMs,
        topicMessages: groupByTopic(chunk),
      });
      written.push(...recordOffsets(chunk, metadata));
      i += n;
    }
    // The progress record in a request of its own: one partition, one leader. kafkajs
    // retries a request that failed on one leader by sending again what a partition's new
    // leader has not answered, acknowledged records included, with new sequence numbers:
    // a request reaching one more leader is one more chance of records twice.
    const progress = this.deps.progress?.record(partition, nextOffset);
    if (progress) {
      const { topic, key, value, partition: p } = progress;
      await tx.sendBatch({
        timeoutMs: this.deps.ackTimeoutMs,
        topicMessages: [{ topic, messages: [{ key, value, partition: p }] }],
      });
    }
    await tx.sendOffsets({
      groupId: this.deps.groupId,
      topic: this.deps.rawTopic,
      partition,
      offset: nextOffset,
    });
    await tx.commit();
  }

  /** Closes the producer of a partition this worker no longer owns. */
  private async release(partition: number): Promise<void> {
    const producer = this.producers.get(partition);
    this.producers.delete(partition);
    const open = producer ? await producer.catch(() => null) : null;
    // Bounded: a client stuck retrying must not hold the next claim (which fences it).
    if (open)
      await within(open.disconnect(), CLEANUP_MS, cleanupTimedOut('closing', partition)).catch(
        () => undefined,
      );
  }

  get lastError(): string | null {
    return this.failing;
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((p) => this.release(p)));
  }
}
