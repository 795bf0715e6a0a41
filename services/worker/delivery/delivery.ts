/**
 * The worker's one delivery interface: how a processed chunk goes downstream together with
 * its input commit. The consumer loop (`consumer/raw-consumer.ts`) and `main.ts` use only
 * this; each logging mode implements it in its own folder and `create-delivery.ts` picks
 * one from the configuration:
 * - `sbml/` (`INTAKE_LOGGING=sbml`, the default; and `none`, the same flow without the
 *   log): the records are held (appended to the durable outbound log with one sync; or,
 *   without the log, sent and waited for), then the input is committed, then the records
 *   are released to the sender.
 * - `hml/` (`INTAKE_LOGGING=hml`): the records and the input offsets in one Kafka
 *   transaction; a partition is claimed (its previous owner fenced) before its first chunk.
 *
 * Contract of every implementation:
 * - `handOff` resolves true only once the chunk's input is committed and its records can
 *   no longer be lost; false when the chunk was abandoned (revoked, the group moved on,
 *   committed by another): then nothing of it counts as processed here.
 * - The acknowledged listeners hear of every record once it is in Kafka (SBML: acks=all
 *   from the sender; HML: the transaction committed).
 */
import type { AcknowledgedListener, OutboundRecord } from '../outbound/record';
import type { OutboundLogStats } from './sbml/log-port';

/** A processed chunk of one raw partition: its input offsets and its outbound records. */
export interface Chunk {
  topic: string;
  partition: number;
  /** The first and last input offsets of the chunk. */
  first: string;
  last: string;
  records: OutboundRecord[];
}

/** What the consumer lends a hand-off: retries that heartbeat, and its own commit. */
export interface HandOffContext {
  /**
   * Runs `work` until it succeeds, retrying retriable failures with backoff while
   * heartbeating (the caller's records stay the same: the pipeline does not run twice);
   * false when the batch was revoked meanwhile.
   */
  retrying(work: () => Promise<void>): Promise<boolean>;
  /** Commits the consumer group's offset of the chunk's partition (`next`: exclusive). */
  commitInput(next: string): Promise<void>;
}

/** How the state restore learns that a partition's previous owner is done with it. */
export interface StateHandover {
  /** Resolves once the partitions may be restored, with their committed offsets. */
  settled(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>>;
  /** The committed offsets alone, without waiting (partitions this worker kept). */
  committed(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>>;
}

export interface WorkerDelivery {
  /**
   * Before the consumer starts: connects what the mode needs and delivers what a previous
   * run left (SBML: resends the outbound log; resolves with how many records it resent).
   */
  start(): Promise<number>;
  /** The raw partitions assigned to this worker, after each rebalance. */
  assigned(partitions: readonly number[]): void;
  /**
   * The first input offset of the partition this worker may process in this generation
   * (HML: after fencing its previous owner; SBML: after the chunks it abandoned but holds);
   * 0n when there is nothing to skip.
   */
  claim(partition: number): Promise<bigint>;
  /** Hands a processed chunk off with its input commit (see the module doc). */
  handOff(chunk: Chunk, context: HandOffContext): Promise<boolean>;
  /** True while consumption must wait (log full, downstream failing). */
  mustPause(): boolean;
  /** Why the worker is not ready (null when it is), for readiness and the pause log. */
  problem(): string | null;
  /** Adds a listener of the records once they are in Kafka (progress, replies, metrics). */
  onAcknowledged(listener: AcknowledgedListener): void;
  /** The state hand-over of this mode, for the state restorer. */
  readonly handover: StateHandover;
  /**
   * True when the hand-off writes each partition's progress record itself (HML: in the
   * transaction); otherwise `main.ts` publishes the progress on an interval.
   */
  readonly writesProgress: boolean;
  /** Details for the readiness endpoint. */
  details(): Record<string, unknown>;
  /** Records queued and not yet acknowledged (a metric). */
  backlog(): number;
  /** The outbound log's figures (null without a log), for metrics. */
  logStats(): OutboundLogStats | null;
  /**
   * At shutdown, after the consumer stopped: delivers what is still queued, waiting at
   * most `maxWaitMs` (what remains stays durable for the next start).
   */
  drain(maxWaitMs: number): Promise<void>;
  /** Closes what `start` opened. */
  close(): Promise<void>;
}
