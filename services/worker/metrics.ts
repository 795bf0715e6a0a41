/**
 * The worker's Prometheus metrics.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { OutboundLogStats } from './delivery/sbml/log-port';

export interface WorkerMetrics {
  registry: Registry;
  consumed: Counter;
  processed: Counter;
  dlq: Counter;
  dropped: Counter;
  duplicates: Counter;
  rebalances: Counter;
  delivered: Counter;
  resent: Counter;
  sendFailures: Counter;
  logSyncSeconds: Histogram;
  lag: Gauge<'partition'>;
}

type NumericStat = {
  [K in keyof OutboundLogStats]: OutboundLogStats[K] extends number ? K : never;
}[keyof OutboundLogStats];

export interface WorkerMetricSources {
  /** The outbound log's counters, when SBML is on. */
  logStats: () => OutboundLogStats | null;
  /** Outbound records queued in the sender and not yet acknowledged. */
  backlog: () => number;
}

export function createWorkerMetrics(
  registry: Registry,
  sources?: WorkerMetricSources,
): WorkerMetrics {
  const registers = [registry];
  const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
  const logGauge = (name: string, help: string, field: NumericStat): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(sources?.logStats()?.[field] ?? 0);
      },
    });
  };
  logGauge(
    'intake_worker_outbound_log_entries',
    'Entries in the outbound log (not yet acknowledged)',
    'entries',
  );
  logGauge('intake_worker_outbound_log_bytes', 'Bytes in the outbound log', 'bytes');
  logGauge(
    'intake_worker_outbound_log_syncs',
    'Durable syncs of the outbound log since start (group commits)',
    'syncs',
  );
  logGauge(
    'intake_worker_outbound_log_appends',
    'Records appended to the outbound log since start',
    'appends',
  );
  logGauge(
    'intake_worker_outbound_log_failures',
    'Outbound log writes (appends, removes) that failed since start: disk full, I/O error',
    'failures',
  );
  new Gauge({
    name: 'intake_worker_outbound_log_failing',
    help: '1 while the outbound log cannot write (consumption waits, readiness fails), else 0',
    registers,
    collect() {
      this.set(sources?.logStats()?.failing ? 1 : 0);
    },
  });
  new Gauge({
    name: 'intake_worker_sender_backlog',
    help: 'Outbound records queued for sending and not yet acknowledged',
    registers,
    collect() {
      this.set(sources?.backlog() ?? 0);
    },
  });
  return {
    registry,
    consumed: counter(
      'intake_worker_consumed_total',
      'Records consumed from intake.raw and committed',
    ),
    processed: counter('intake_worker_processed_total', 'Events handed off to intake.processed'),
    dlq: counter('intake_worker_dlq_total', 'Events handed off to intake.dlq'),
    dropped: counter('intake_worker_dropped_total', 'Events dropped by a pipeline step'),
    duplicates: counter(
      'intake_worker_duplicates_dropped_total',
      'Retried events skipped: their id was processed within the deduplication window',
    ),
    rebalances: counter('intake_worker_rebalances_total', 'Consumer group joins (rebalances)'),
    delivered: counter('intake_worker_delivered_total', 'Outbound records acknowledged downstream'),
    resent: counter(
      'intake_worker_resent_total',
      'Outbound records resent from the log after a restart',
    ),
    sendFailures: counter(
      'intake_worker_send_failures_total',
      'Downstream requests that failed (and were retried)',
    ),
    logSyncSeconds: new Histogram({
      name: 'intake_worker_outbound_log_append_seconds',
      help: 'Time to append a chunk to the outbound log durably (one sync)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    lag: new Gauge({
      name: 'intake_worker_consumer_lag',
      help: 'Records in intake.raw not yet consumed, per assigned partition',
      labelNames: ['partition'],
      registers,
    }),
  };
}
