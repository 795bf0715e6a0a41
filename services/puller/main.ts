/**
 * The puller service: the collector as the client of outside streams. Owns startup and
 * shutdown order.
 *
 * Start: config -> per upstream a transactional writer (not started) -> admin server
 * (health, metrics) -> one pull loop per upstream, which starts its writer and then reads
 * its committed position (puller.ts: one owner per upstream). /readyz answers 200 once
 * every upstream is owned and connected; 503 with each upstream's `state` otherwise
 * (`standby`: another puller owns it).
 * SIGTERM: stop reading -> commit what each loop holds -> disconnect -> exit 0.
 */
import { Counter, Gauge } from 'prom-client';
import { startAdminServer } from '../../lib/http/admin-server';
import { createKafkaClient } from '../../lib/kafka/client';
import { exitOnStartupFailure, handleShutdownSignals } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import { createRegistry } from '../../lib/metrics';
import { loadPullerConfig } from './config';
import { UpstreamPuller } from './puller';
import { TransactionalWriter } from './tx-writer';
import { positionReader } from './position-reader';

async function main(): Promise<void> {
  const config = loadPullerConfig();
  const logger = createLogger('puller').child({ instance: config.instance });
  const kafka = createKafkaClient(config.kafka, logger);
  const { topics } = config.kafka;
  const registry = createRegistry('puller', config.instance);
  const labelNames = ['upstream'] as const;
  const registers = [registry];
  const committed = new Counter({
    name: 'intake_puller_events_total',
    help: 'Upstream events committed to intake.raw',
    labelNames,
    registers,
  });
  const reconnects = new Counter({
    name: 'intake_puller_reconnects_total',
    help: 'Reconnects to an upstream',
    labelNames,
    registers,
  });
  const writeFailures = new Counter({
    name: 'intake_puller_write_failures_total',
    help: 'Batches Kafka did not commit (re-read from the last position)',
    labelNames,
    registers,
  });

  const readPosition = positionReader({ kafka, topic: topics.pullerPositions, logger });
  const pullers: { puller: UpstreamPuller; writer: TransactionalWriter }[] = [];
  for (const spec of config.upstreams) {
    const writer = new TransactionalWriter({
      kafka,
      upstream: spec.name,
      rawTopic: topics.raw,
      positionsTopic: topics.pullerPositions,
    });
    logger.info({ upstream: spec.name, url: spec.url }, 'upstream_configured');
    const labels = { upstream: spec.name };
    const puller = new UpstreamPuller(
      spec,
      writer,
      () => readPosition(spec.name),
      logger,
      config.options,
      {
        onCommitted: (n) => committed.inc(labels, n),
        onReconnect: () => reconnects.inc(labels),
        onWriteFailed: () => writeFailures.inc(labels),
      },
    );
    pullers.push({ puller, writer });
  }
  new Gauge({
    name: 'intake_puller_connected',
    help: '1 while the upstream stream is open',
    labelNames,
    registers,
    collect() {
      for (const { puller } of pullers)
        this.set({ upstream: puller.name }, puller.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'intake_puller_pending_events',
    help: 'Events read from the upstream, waiting for their commit (the next batch)',
    labelNames,
    registers,
    collect() {
      for (const { puller } of pullers) this.set({ upstream: puller.name }, puller.pendingEvents);
    },
  });

  const admin = await startAdminServer({
    host: config.adminHost,
    port: config.adminPort,
    registry,
    instance: config.instance,
    // Ready: every upstream owned (writer started, position read) and its stream open.
    readiness: () => ({
      ok: pullers.every(({ puller }) => puller.state === 'active' && puller.connected),
      details: Object.fromEntries(
        pullers.map(({ puller }) => [
          puller.name,
          {
            state: puller.state,
            connected: puller.connected,
            position: puller.position,
            committed: puller.committedEvents,
          },
        ]),
      ),
    }),
  });
  const stop = new AbortController();
  const loops = pullers.map(({ puller }) => puller.run(stop.signal));
  logger.info({ upstreams: pullers.length, adminPort: config.adminPort }, 'puller_started');

  handleShutdownSignals(logger, async () => {
    stop.abort();
    await Promise.all(loops);
    await Promise.all(pullers.map(({ writer }) => writer.stop()));
    await new Promise<void>((resolve) => admin.close(() => resolve()));
  });
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('puller'), err));
