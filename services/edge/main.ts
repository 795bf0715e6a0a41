/**
 * The edge service: owns startup and shutdown order.
 *
 * Start: config -> Kafka sink (partition metadata, producer) -> views of the progress and
 * scores topics (they catch up in the background) -> the sources (read to the end, seeded
 * from `INTAKE_API_KEYS`) -> HTTP listener.
 * SIGTERM: turn not-ready -> keep serving for the grace period (the balancer moves away)
 * -> let streams' pending events be acked, close streams and subscriptions -> stop accepting connections and finish in-flight requests -> flush the producer ->
 * disconnect -> exit 0.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import { TopicView, lmdbStore, memoryStore } from '../../lib/kafka/topic-view';
import { createLogger } from '../../lib/logger';
import { createKafkaClient } from '../../lib/kafka/client';
import { createRegistry } from '../../lib/metrics';
import { exitOnStartupFailure, handleShutdownSignals, sleep } from '../../lib/lifecycle';
import { parseProgress } from '../../lib/records/progress';
import type { ProgressRecord } from '../../lib/records/progress';
import { parseRejection } from '../../lib/records/rejection';
import { parseScore } from '../../lib/records/score';
import type { ScoreRecord } from '../../lib/records/score';
import type { Rejection } from '../../lib/records/rejection';
import { loadEdgeConfig } from './config';
import { createApp } from './app';
import { bodyDefaults } from './ingest/body';
import { UdpListener } from './udp/udp-listener';
import { createEdgeMetrics } from './metrics';
import { REPLY_GROUP_PREFIX, ReplyWaiter } from './replies/reply-waiter';
import { LiveEdges } from './live-edges';
import { OneWayQueue } from './one-way-queue';
import { KafkaSink } from './sink';
import type { Sink } from './sink';
import { PolicySink } from './sources/policy-sink';
import { appServer, listen } from './http/app-server';
import { createKeyChecker } from './http/auth';
import { TRACKER_FILE, loadTracker } from './http/tracker-route';
import { WsStreamServer } from './stream/ws-stream';
import { attachUpgrades } from './upgrades';
import { appIdChecker } from './sdk/app-ids';
import { Fanouts, WsSubscribeRoute } from './subscribe/subscribe-routes';
import { EdgeSources } from './sources/edge-sources';

async function main(): Promise<void> {
  const config = loadEdgeConfig();
  const logger = createLogger('edge').child({ instance: config.instance });
  const kafka = createKafkaClient(config.kafka, logger);
  const registry = createRegistry('edge', config.instance);
  // NOTE: the gauge reads the sink only on scrape, after it exists.
  const metrics = createEdgeMetrics(registry, {
    inFlightBytes: () => sink.inFlightBytes,
    kafkaUp: () => sink.isHealthy(),
    streams: () => wsStreams.connections,
    subscribers: () => fanouts.count,
    liveEdges: () => liveEdges.count,
  });
  const sink = new KafkaSink({
    producers: Array.from({ length: config.producerLanes }, () => kafka.producer()),
    // NOTE: the sink's admin probes readiness: no retries, so an outage shows at once.
    admin: kafka.admin({ retries: 0 }),
    topic: config.kafka.topics.raw,
    logger,
    options: config.producer,
    onBatch: (records, _bytes, ok) => {
      if (ok) metrics.batchRecords.observe(records);
      else metrics.produceFailures.inc();
    },
  });
  let draining = false;
  await sink.start();
  const { topics } = config.kafka;
  const progress = new TopicView<ProgressRecord>({
    kafka,
    topic: topics.progress,
    store: memoryStore(),
    logger,
    parse: parseProgress,
  });
  const scores = new TopicView<ScoreRecord>({
    kafka,
    topic: topics.scores,
    store: lmdbStore(join(config.viewDir, 'scores')),
    logger,
    parse: parseScore,
  });
  const rejections = new TopicView<Rejection>({
    kafka,
    topic: topics.rejections,
    store: lmdbStore(join(config.viewDir, 'rejections')),
    logger,
    parse: parseRejection,
  });
  const replies = new ReplyWaiter({
    kafka,
    topic: topics.replies,
    instance: config.instance,
    maxWaiting: config.maxWaitingResponses,
    logger,
  });
  // The views fill in the background: look-ups answer 503 until they caught up.
  await Promise.all([progress.start(), scores.start(), rejections.start(), replies.start()]);
  // Each key's rate limit is shared by the live edges: one checker (one bucket per key)
  // for the /v1 routes and the WebSocket upgrades.
  const liveEdges = new LiveEdges({
    admin: kafka.admin({ retries: 0 }),
    groupPrefix: REPLY_GROUP_PREFIX,
    ownGroup: replies.groupId,
    intervalMs: config.liveEdgesPollMs,
    logger,
  });
  await liveEdges.start();
  // Sources are data (the sources topic): keys, quotas and privacy follow it, no restart.
  const sources = new EdgeSources({
    kafka,
    topics,
    instance: config.instance,
    seed: config.auth.keys,
    usageIntervalMs: config.usageReportMs,
    metrics,
    logger,
  });
  await sources.start();
  // Every transport writes through the sources' policies (the Kafka sink's lifecycle stays here).
  const writer: Sink = sources.active ? new PolicySink(sink, sources.policy) : sink;
  const checkKey = createKeyChecker(
    sources.active ? { ...config.auth, index: () => sources.book.keys() } : config.auth,
    () => liveEdges.count,
  );

  const oneWay = new OneWayQueue({
    sink: writer,
    maxEvents: config.oneWayQueueEvents,
    batchSize: 500,
    logger,
    onDrop: (count, reason) => metrics.eventsDropped.inc({ reason }, count),
    onSent: (count) => metrics.oneWaySent.inc(count),
  });
  const udp =
    config.udp.port > 0
      ? new UdpListener({
          ...config.udp,
          queue: oneWay,
          limits: bodyDefaults,
          sources: sources.active ? sources.policy : undefined,
          logger,
          onDatagram: (_events, invalid) =>
            metrics.eventsRejected.inc({ reason: 'invalid' }, invalid),
        })
      : null;
  if (udp) logger.info({ host: config.udp.host, port: await udp.start() }, 'udp_listening');
  const fanouts = new Fanouts(
    kafka,
    { processed: topics.processed, scores: topics.scores, dlq: topics.dlq },
    logger,
    config.subscribe,
    (reason) => metrics.subscribersDropped.inc({ reason }),
  );
  const streamLimits = {
    ...bodyDefaults,
    maxEventBytes: config.maxEventBytes,
    maxPendingEvents: config.stream.maxPendingEvents,
    ackIntervalMs: config.stream.ackIntervalMs,
  };
  const wsStreams = new WsStreamServer({
    sink: writer,
    logger,
    instance: config.instance,
    defaultSource: config.defaultSource,
    limits: streamLimits,
    maxMessageBytes: config.stream.maxMessageBytes,
    pingIntervalMs: config.stream.pingIntervalMs,
    idleTimeoutMs: config.stream.idleTimeoutMs,
    isDraining: () => draining,
    onAccepted: (n) => metrics.eventsAccepted.inc(n),
    onRejected: (n) => metrics.eventsRejected.inc({ reason: 'invalid' }, n),
    sources: sources.active ? sources.policy : undefined,
  });
  const tracker = loadTracker();
  if (!tracker) logger.warn({ file: TRACKER_FILE }, 'tracker_not_built');
  const app = createApp({
    sink: writer,
    logger,
    metrics,
    instance: config.instance,
    maxBodyBytes: config.maxBodyBytes,
    readWindow: { bytes: config.readWindowBytes, maxWaitMs: config.producer.ackTimeoutMs },
    maxEventsPerRequest: config.maxEventsPerRequest,
    defaultSource: config.defaultSource,
    isDraining: () => draining,
    lookups: { rawTopic: topics.raw, progress, scores, rejections },
    respond: { instance: config.instance, replies, timeoutMs: config.responseTimeoutMs },
    oneWay,
    checkKey,
    corsOrigins: config.corsOrigins,
    sourceOrigins: sources.active ? () => sources.book.origins() : undefined,
    accessLog: config.accessLog,
    bodyLimits: { ...bodyDefaults, maxEventBytes: config.maxEventBytes },
    stream: streamLimits,
    fanouts,
    tracker,
    sources: sources.active ? sources.policy : undefined,
    admin: sources.active ? { admin: sources.admin, key: config.adminKey } : undefined,
    sdk: {
      browserAppIds: config.browserAppIds,
      checkAppId: config.auth.required
        ? appIdChecker(
            config.auth,
            config.browserAppIds,
            () => liveEdges.count,
            sources.active ? (listed) => sources.book.appIds(listed) : undefined,
          )
        : undefined,
    },
  });
  const server: Server = await listen(appServer(app), config.port, config.host);
  server.keepAliveTimeout = 65_000; // longer than nginx's upstream keepalive_timeout
  // NOTE: streams last as long as the client sends; their idle timeouts bound them instead.
  server.requestTimeout = 0;
  attachUpgrades(
    server,
    { '/v1/stream': wsStreams, '/v1/subscribe/': new WsSubscribeRoute(fanouts) },
    {
      checkKey,
      isDraining: () => draining,
      defaultSource: config.defaultSource,
    },
  );
  logger.info(
    {
      host: config.host,
      port: config.port,
      topic: config.kafka.topics.raw,
      kafkaClient: config.kafkaClient,
    },
    'edge_listening',
  );

  handleShutdownSignals(logger, async () => {
    draining = true;
    logger.info({ graceMs: config.drainGraceMs }, 'draining');
    await sleep(config.drainGraceMs);
    await wsStreams.close(config.producer.ackTimeoutMs);
    await fanouts.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await udp?.stop();
    await oneWay.close();
    await sink.stop();
    await liveEdges.stop();
    await sources.stop();
    await Promise.all([progress.stop(), scores.stop(), rejections.stop(), replies.stop()]);
  });
}

main().catch((err: unknown) => exitOnStartupFailure(createLogger('edge'), err));
