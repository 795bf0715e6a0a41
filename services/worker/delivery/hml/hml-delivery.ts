/**
 * Hybrid message logging (`INTAKE_LOGGING=hml`) behind the worker's delivery interface: a
 * chunk's records and its input offset in one Kafka transaction (`transactions.ts`), no
 * local log, no resend. A partition is claimed before its first chunk in each group
 * generation (its previous owner fenced, the committed offset read again); the state
 * restore needs no other hand-over: the fenced owner's open transaction, scores included,
 * is aborted, and the restore reads committed data. Each transaction writes the partition's
 * progress record too (`committed-progress.ts`), so no interval publisher is needed.
 */
import type { Admin } from '../../../../lib/kafka/port';
import type { DeliveryProgress } from '../../outbound/progress';
import type { AcknowledgedListener } from '../../outbound/record';
import type { Chunk, HandOffContext, StateHandover, WorkerDelivery } from '../delivery';
import type { CommittedProgress } from './committed-progress';
import type { TransactionalDelivery } from './transactions';

export interface HmlDeliveryDeps {
  transactions: TransactionalDelivery;
  progress: DeliveryProgress;
  /** The admin client the transactions read committed offsets with (connected by `start`). */
  admin?: Pick<Admin, 'connect' | 'disconnect'>;
  /** The progress records the transactions write and the claims read (started by `start`). */
  committedProgress?: Pick<CommittedProgress, 'start' | 'stop'>;
}

export class HmlDelivery implements WorkerDelivery {
  readonly handover: StateHandover = {
    settled: (partitions) => this.claimAll(partitions),
    committed: (partitions) => this.claimAll(partitions),
  };

  /** The transactions write the progress records. */
  readonly writesProgress = true;

  constructor(private readonly deps: HmlDeliveryDeps) {}

  async start(): Promise<number> {
    await this.deps.admin?.connect();
    await this.deps.committedProgress?.start();
    return 0;
  }

  assigned(partitions: readonly number[]): void {
    this.deps.transactions.assigned(partitions);
  }

  claim(partition: number): Promise<bigint> {
    return this.deps.transactions.claim(partition);
  }

  /**
   * The records and the input offset in one transaction, retried with the same records;
   * false when the chunk was abandoned (revoked, fenced, or committed by another).
   */
  async handOff(chunk: Chunk, context: HandOffContext): Promise<boolean> {
    let committed = false;
    const done = await context.retrying(async () => {
      committed = await this.deps.transactions.commit(chunk.partition, chunk.records, {
        first: chunk.first,
        next: (BigInt(chunk.last) + 1n).toString(),
      });
    });
    if (!done || !committed) return false;
    this.deps.progress.committed(chunk.partition, [], BigInt(chunk.last));
    return true;
  }

  /** Nothing to wait for: a failing transaction is retried in place. */
  mustPause(): boolean {
    return false;
  }

  problem(): string | null {
    const failing = this.deps.transactions.lastError;
    return failing ? `transactions failing: ${failing}` : null;
  }

  onAcknowledged(listener: AcknowledgedListener): void {
    this.deps.transactions.onAcknowledged(listener);
  }

  details(): Record<string, unknown> {
    return { outboundLog: null, senderBacklog: 0 };
  }

  logStats(): null {
    return null;
  }

  backlog(): number {
    return 0;
  }

  /** Nothing is queued: what was not committed is read again by the next owner. */
  drain(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await this.deps.transactions.close();
    await this.deps.committedProgress?.stop();
    await this.deps.admin?.disconnect();
  }

  /** Claims each partition (fencing its previous owner); the offsets to start from. */
  private async claimAll(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>> {
    const committed = new Map<number, bigint>();
    await Promise.all(
      partitions.map(async (p) => {
        committed.set(p, await this.deps.transactions.claim(p));
      }),
    );
    return committed;
  }
}
