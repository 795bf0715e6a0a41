/**
 * The edge's Prometheus metrics.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export interface EdgeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  eventsAccepted: Counter;
  eventsRejected: Counter<'reason'>;
  ackSeconds: Histogram;
  batchRecords: Histogram;
  produceFailures: Counter;
  inFlightBytes: Gauge;
  /** One-way events lost by design: queue full, send failed, shutdown. */
  eventsDropped: Counter<'reason'>;
  oneWaySent: Counter;
  /** Subscribers disconnected by the edge (slow-consumer). */
  subscribersDropped: Counter<'reason'>;
  /** Events per source: `accepted` (to be written), `limited` (quota, 429), `suppressed` (dropped). */
  sourceEvents: Counter<'source' | 'outcome'>;
  /** Records of the sources, forget or usage topics skipped as unreadable (the last good ones kept). */
  sourceRecordsSkipped: Counter<'topic'>;
}

/** Gauges read on scrape from the parts that own the numbers. */
export interface EdgeGauges {
  inFlightBytes: () => number;
  kafkaUp?: () => boolean;
  streams?: () => number;
  subscribers?: () => number;
  /** The live edges sharing each key's rate limit. */
  liveEdges?: () => number;
}

export function createEdgeMetrics(registry: Registry, gauges: EdgeGauges): EdgeMetrics {
  const registers = [registry];
  const {
    inFlightBytes,
    kafkaUp = () => true,
    streams = () => 0,
    subscribers = () => 0,
    liveEdges = () => 1,
  } = gauges;
  new Gauge({
    name: 'intake_edge_kafka_up',
    help: '1 while Kafka is reachable and acknowledging, 0 otherwise',
    registers,
    collect() {
      this.set(kafkaUp() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'intake_edge_streams',
    help: 'Open WebSocket ingest streams',
    registers,
    collect() {
      this.set(streams());
    },
  });
  new Gauge({
    name: 'intake_edge_live_edges',
    help: 'Edges alive in the fleet as this edge counts them; each key gets 1/n of its rate limit here',
    registers,
    collect() {
      this.set(liveEdges());
    },
  });
  new Gauge({
    name: 'intake_edge_subscribers',
    help: 'Open subscriptions (SSE and WebSocket)',
    registers,
    collect() {
      this.set(subscribers());
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'intake_edge_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers,
    }),
    eventsAccepted: new Counter({
      name: 'intake_edge_events_accepted_total',
      help: 'Events made durable in intake.raw and answered as accepted',
      registers,
    }),
    eventsRejected: new Counter({
      name: 'intake_edge_events_rejected_total',
      help: 'Events rejected, by reason (invalid, unavailable)',
      labelNames: ['reason'],
      registers,
    }),
    ackSeconds: new Histogram({
      name: 'intake_edge_ack_seconds',
      help: 'Time from request to Kafka acknowledgement',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchRecords: new Histogram({
      name: 'intake_edge_producer_batch_records',
      help: 'Records per produce request (coalesced across concurrent requests)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
      registers,
    }),
    produceFailures: new Counter({
      name: 'intake_edge_produce_failures_total',
      help: 'Produce requests Kafka did not acknowledge',
      registers,
    }),
    eventsDropped: new Counter({
      name: 'intake_edge_events_dropped_total',
      help: 'One-way events dropped (queue-full, send-failed, shutdown)',
      labelNames: ['reason'],
      registers,
    }),
    subscribersDropped: new Counter({
      name: 'intake_edge_subscribers_dropped_total',
      help: 'Subscribers disconnected by the edge, by reason',
      labelNames: ['reason'],
      registers,
    }),
    sourceEvents: new Counter({
      name: 'intake_edge_source_events_total',
      help: 'Events per source by outcome: accepted, limited (over a quota: 429), suppressed (opted out or forgotten: dropped)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    sourceRecordsSkipped: new Counter({
      name: 'intake_edge_source_records_skipped_total',
      help: 'Unreadable records of the sources, forgets and usage topics, skipped (the last good settings kept)',
      labelNames: ['topic'],
      registers,
    }),
    oneWaySent: new Counter({
      name: 'intake_edge_one_way_sent_total',
      help: 'One-way events written to Kafka in the background',
      registers,
    }),
    inFlightBytes: new Gauge({
      name: 'intake_edge_producer_inflight_bytes',
      help: 'Bytes accepted and waiting for Kafka',
      registers,
      collect() {
        this.set(inFlightBytes());
      },
    }),
  };
}
