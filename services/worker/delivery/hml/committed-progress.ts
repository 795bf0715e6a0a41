/**
 * HML's second record of how far a raw partition is processed: the partition's progress
 * record (`lib/records/progress.ts`), written in every chunk's transaction beside the
 * group's offset commit, so the compacted progress topic holds, for `read_committed`
 * readers, exactly the position the last committed transaction left.
 *
 * Why a second record: a broker restarted after a crash (SIGKILL) was seen to answer the
 * group's committed offsets empty, then with values a minute old, for tens of seconds
 * (Kafka 4.1 and 4.4, one broker, transactional offset commits; docs/guarantees.md), while
 * its data partitions, the progress topic's included, were whole. A claim that trusted
 * those offsets alone processed that minute again, and its outputs were written twice.
 * The claim takes the higher of the two (`transactions.ts`).
 *
 * `committedNext` reads the progress topic's view once it caught up with the end of the
 * partition's progress partition (its key's) as it is after the claim fenced the raw
 * partition's previous producer (whose transaction is then committed or aborted, and its
 * progress record visible or gone). The end is the one a `read_committed` reader sees: a
 * record behind another transaction still open on its progress partition is not in yet,
 * and the claim starts from an older record or the group's offset (at worst input is
 * processed again, as before this record existed). A progress record never runs ahead of
 * the input commit: SBML and the interval publisher write what was committed already, HML
 * writes it in the same transaction.
 */
import type { TopicView } from '../../../../lib/kafka/topic-view';
import type { ProgressRecord } from '../../../../lib/records/progress';
import { progressKey } from '../../../../lib/records/progress';
import type { EncodedRecord, Outputs } from '../../outbound/outputs';

export interface CommittedProgressDeps {
  view: Pick<TopicView<ProgressRecord>, 'start' | 'stop' | 'current' | 'get'>;
  outputs: Pick<Outputs, 'encode'>;
  rawTopic: string;
  /** This worker's instance name (the record's `worker`). */
  worker: string;
  /** How long a claim waits for the view to catch up before it fails (retriable). */
  catchUpTimeoutMs: number;
}

export class CommittedProgress {
  constructor(private readonly deps: CommittedProgressDeps) {}

  start(): Promise<void> {
    return this.deps.view.start();
  }

  stop(): Promise<void> {
    return this.deps.view.stop();
  }

  /** The progress record of a transaction that commits the partition's input below `next`. */
  record(partition: number, next: string): EncodedRecord {
    const { rawTopic, worker, outputs } = this.deps;
    return outputs.encode('progress', {
      topic: rawTopic,
      partition,
      deliveredUpTo: next,
      committedNext: next,
      worker,
      at: new Date().toISOString(),
    });
  }

  /** The committed position of the partition by its latest progress record (none: undefined). */
  async committedNext(partition: number): Promise<bigint | undefined> {
    // Only the progress partition its records go to (the partition of its key).
    const { partition: at } = this.record(partition, '0');
    await this.deps.view.current(this.deps.catchUpTimeoutMs, [at]);
    const latest = this.deps.view.get(progressKey(this.deps.rawTopic, partition));
    return latest ? BigInt(latest.committedNext) : undefined;
  }
}
