/**
 * The puller service: the collector as the client of outside streams. Owns startup and
 * shutdown order.
 *
 * Start: config -> per upstream: its committed position (from the compacted positions
 * topic) and its transactional writer -> admin server (health, metrics) -> one pull loop
 * per upstream.
 * SIGTERM: stop reading -> commit what each loop holds -> disconnect -> exit 0.
 */
import { Counter, Gauge } from 'prom-client';
import { startAdminServer } from '../../lib/http/admin-server';
import { createKafka } from '../../lib/kafka/client';
import { TopicView, memoryStore } from '../../lib/kafka/topic-view';
import { exitOnStartupFailure, handleShutdownSignals } from '../../lib/lifecycle';
import { createLogger } from '../../lib/logger';
import { createRegistry } from '../../lib/metrics';
import { loadPullerConfig } from './config';
import { UpstreamPuller } from './puller';
import { TransactionalWriter } from './tx-writer';
import type { StoredPosition } from './tx-writer';

async function main(): Promise<void> {
  const config = loadPullerConfig();
  const logger = createLogger('puller').child({ instance: config.instance });
  const kafka = createKafka(config.kafka, logger);
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

  const positions = new TopicView<StoredPosition>({
    kafka,
    topic: topics.pullerPositions,
    store: memoryStore(),
    logger,
    parse: (value) => JSON.parse(value.toString()) as StoredPosition,
  });
  await positions.start();
  await positions.ready();

  const pullers: { puller: UpstreamPuller; writer: TransactionalWriter }[] = [];
  for (const spec of config.upstreams) {
    const writer = new TransactionalWriter({
      kafka,
      upstream: spec.name,
      rawTopic: topics.raw,
      positionsTopic: topics.pullerPositions,
    });
    await writer.start();
    const from = positions.get(spec.name)?.position ?? null;
    logger.info({ upstream: spec.name, url: spec.url, position: from }, 'upstream_resuming');
    const labels = { upstream: spec.name };
    const puller = new UpstreamPuller(spec, writer, from, logger, config.options, {
      onCommitted: (n) => committed.inc(labels, n),
      onReconnect: () => reconnects.inc(labels),
      onWriteFailed: () => writeFailures.inc(labels),
    });
    pullers.push({ puller, writer });
  }
  await positions.stop();
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

  const admin = await startAdminServer({
    host: config.adminHost,
    port: config.adminPort,
    registry,
    instance: config.instance,
    readiness: () => ({
      ok: true,
      details: Object.fromEntries(
        pullers.map(({ puller }) => [
          puller.name,
          {
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
