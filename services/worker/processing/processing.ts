/**
 * Where the worker's chunks are processed: deduplication, the pipeline and the outputs
 * registry (`consumer/process-batch.ts`), with the state they keep (the scorer's visitors
 * and the recently processed ids, per raw partition). Two implementations, one contract:
 * `LocalProcessing` runs on the consumer's thread; `ThreadProcessing` runs the same code
 * on a thread of its own, so parsing, the steps and serialising the outputs take the
 * second core while the consumer's thread decodes, logs, commits and sends.
 *
 * Order: calls take effect in the order they are made (a restore before the chunks that
 * follow it, `remember` before the next chunk of its partition), as on one thread.
 */
import type { ConsumedRecord } from '../../../lib/kafka/port';
import type { BatchOutcome } from '../consumer/process-batch';

export interface ChunkInput {
  topic: string;
  partition: number;
  messages: readonly ConsumedRecord[];
}

/** The scorer's state, per raw partition (absent when the pipeline does not score). */
export interface ScoreState {
  /** Rebuilds a partition's visitors from published score records; the number applied. */
  restore(
    partition: number,
    records: readonly { key: string; value: unknown }[],
  ): number | Promise<number>;
  forget(partition: number): void;
  /** Drops a visitor's state (a forget request): true when it was held. */
  drop(visitorId: string): boolean | Promise<boolean>;
}

/** The recently processed ids (deduplication), per raw partition. */
export interface IdsState {
  readonly enabled: boolean;
  /** Remembers ids of input whose hand-off is committed. */
  add(partition: number, entries: readonly { id: string; at: number }[]): void;
  /** Replaces a partition's window with ids read back in offset order. */
  restore(
    partition: number,
    entries: readonly { id: string; at: number }[],
    now: number,
  ): void | Promise<void>;
  forget(partition: number): void;
  size(partition: number): number | Promise<number>;
}

export interface Processing {
  process(input: ChunkInput): Promise<BatchOutcome>;
  /** The chunk's hand-off is committed: its ids go into the deduplication window. */
  committed(partition: number, outcome: BatchOutcome): void;
  readonly scores: ScoreState | null;
  readonly ids: IdsState;
  /** Where it runs, for the logs and the readiness details. */
  readonly where: 'thread' | 'inline';
  close(): Promise<void>;
}
