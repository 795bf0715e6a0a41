/**
 * The worker's Prometheus metrics.
 */
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

export interface WorkerMetrics {
  registry: Registry;
  consumed: Counter;
  processed: Counter;
  dlq: Counter;
  dropped: Counter;
  rebalances: Counter;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  const registers = [registry];
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
  return {
    registry,
    consumed: counter(
      'intake_worker_consumed_total',
      'Records consumed from intake.raw and committed',
    ),
    processed: counter('intake_worker_processed_total', 'Events delivered to intake.processed'),
    dlq: counter('intake_worker_dlq_total', 'Events delivered to intake.dlq'),
    dropped: counter('intake_worker_dropped_total', 'Events dropped by a pipeline step'),
    rebalances: counter('intake_worker_rebalances_total', 'Consumer group joins (rebalances)'),
  };
}
