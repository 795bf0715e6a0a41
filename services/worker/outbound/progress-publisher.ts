/**
 * Publishes delivery progress to the compacted progress topic: one record per raw
 * partition this worker owns, keyed `<raw topic>/<partition>`, with the offset below which
 * every input record is delivered downstream (`deliveredUpTo`) and the committed position
 * (`committedNext`). Edges answer receipts from it without per-event state. Published on
 * an interval, only when a partition's position changed.
 *
 * Every partition this worker handled is published while its position changes, also after
 * a rebalance took it away: the records still in the outbound log keep being acknowledged,
 * and the next owner waits for that (see `state/handover.ts`).
 */
import type { Producer } from '../../../lib/kafka/port';
import type { Logger } from '../../../lib/logger';
import type { ProgressRecord } from '../../../lib/records/progress';
import type { Outputs } from './outputs';
import type { DeliveryProgress } from './progress';

export class ProgressPublisher {
  private timer: NodeJS.Timeout | null = null;
  private readonly last = new Map<number, string>();
  private publishing: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(
    private readonly deps: {
      producer: Pick<Producer, 'sendBatch'>;
      progress: DeliveryProgress;
      /** The outputs registry (the progress output). */
      outputs: Outputs;
      rawTopic: string;
      worker: string;
      logger: Logger;
      intervalMs: number;
    },
  ) {
    this.log = deps.logger.child({ module: 'progress-publisher' });
  }

  start(): void {
    this.timer = setInterval(() => {
      this.publishing ??= this.publish().finally(() => {
        this.publishing = null;
      });
    }, this.deps.intervalMs);
  }

  /** Publishes what changed; failures are logged and retried on the next tick. */
  async publish(): Promise<void> {
    const records: ProgressRecord[] = [];
    for (const partition of this.deps.progress.partitionsKnown()) {
      const snap = this.deps.progress.snapshot(partition);
      if (!snap) continue;
      const fingerprint = `${snap.deliveredUpTo}/${snap.committedNext}`;
      if (this.last.get(partition) === fingerprint) continue;
      records.push({
        topic: this.deps.rawTopic,
        worker: this.deps.worker,
        at: new Date().toISOString(),
        ...snap,
      });
    }
    if (records.length === 0) return;
    try {
      const encoded = records.map((r) => this.deps.outputs.encode('progress', r));
      const messages = encoded.map(({ key, value, partition }) => ({ key, value, partition }));
      const topic = encoded[0]!.topic;
      await this.deps.producer.sendBatch({ topicMessages: [{ topic, messages }] });
      for (const r of records) this.last.set(r.partition, `${r.deliveredUpTo}/${r.committedNext}`);
    } catch (err) {
      this.log.warn({ err }, 'progress_publish_failed');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.publishing;
    await this.publish();
  }
}
