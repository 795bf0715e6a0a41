/**
 * How the worker hands a processed chunk downstream, and when its input may be committed.
 * One flow, with or without the outbound log: hold -> commit the input -> release -> the
 * sender sends -> acknowledged (progress, replies and metrics listen to the sender).
 *
 * - With the log (SBML, the default): `hold` appends every record to the durable outbound
 *   log (one sync per chunk: group commit); the input may then be committed at once, and
 *   `release` hands the records to the sender, which deletes them on acknowledgement.
 *   Consumption runs ahead of downstream latency, bounded by the log's size.
 * - Without it (`INTAKE_LOGGING=none`, for comparison): `hold` sends and resolves on the
 *   downstream acknowledgement. Nothing is stored locally; a crash re-reads and
 *   re-processes the uncommitted input instead of resending.
 *
 * Either way `hold` resolves only when committing the input can no longer lose its output.
 */
import { IntakeError } from '../../../lib/errors';
import type { OutboundLogPort } from './log-port';
import type { OutboundRecord } from './record';
import type { OutboundSender } from './sender';

export interface DeliveryDeps {
  sender: OutboundSender;
  log: OutboundLogPort | null;
  /** Called with the duration of each durable append (for metrics). */
  onAppend?: (seconds: number) => void;
  /** Fault-injection point between the log sync and the commit (tests only). */
  afterAppend?: () => void;
}

export class Delivery {
  private storeError: string | null = null;

  constructor(private readonly deps: DeliveryDeps) {}

  /** True when acknowledgements come after the commit (the log holds the records meanwhile). */
  get deferred(): boolean {
    return this.deps.log !== null;
  }

  /**
   * Resolves when committing the input of these records can no longer lose them; rejects
   * with a retriable `STORE_FAILED` when the log cannot write (nothing of the call is then
   * in it: the caller retries with the same records).
   */
  async hold(records: OutboundRecord[]): Promise<void> {
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
  release(records: OutboundRecord[]): void {
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
}
