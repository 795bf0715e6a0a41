/**
 * Edge configuration: one defaults object, read from `INTAKE_*` environment variables
 * and validated once at start.
 */
import { hostname } from 'node:os';
import { EnvReader, readKafkaConfig } from '../../lib/config';
import type { KafkaConfig } from '../../lib/config';
import { IntakeError } from '../../lib/errors';
import { streamDefaults } from './stream/stream-session';
import { FETCH_MAX_BYTES } from './subscribe/fanout';
import { subscribeDefaults } from './subscribe/subscribe-routes';
import type { SubscribeLimits } from './subscribe/subscribe-routes';
import { parseApiKeys, parseRateLimits } from './http/auth';
import type { AuthConfig } from './http/auth';
import { batchingDefaults } from '../../lib/kafka/batching-producer';
import type { BatchingProducerOptions } from '../../lib/kafka/batching-producer';
import type { KafkaClientName } from '../../lib/kafka/port';
import { parseBrowserAppIds } from './sdk/app-ids';

export interface EdgeConfig {
  instance: string;
  host: string;
  port: number;
  kafka: KafkaConfig;
  producer: BatchingProducerOptions;
  /** Producers (lanes) of the sink, each with one request in flight; partition modulo picks one. */
  producerLanes: number;
  /** The Kafka client of the sink's producers (`INTAKE_KAFKA_CLIENT`, default kafkajs). */
  kafkaClient: KafkaClientName;
  /** How far `POST /v1/events` reads ahead of Kafka, in bytes (0: no limit; ingest/read-window.ts). */
  readWindowBytes: number;
  /** Largest accepted request body, in bytes (after decompression). */
  maxBodyBytes: number;
  maxEventsPerRequest: number;
  /** Largest event of a batch (array or NDJSON), in bytes; a single event is bounded by maxBodyBytes. */
  maxEventBytes: number;
  /** The source recorded in envelopes until API keys name one. */
  defaultSource: string;
  /** After SIGTERM: how long to keep serving while not ready, so the balancer moves away. */
  drainGraceMs: number;
  /** Where the local view of the scores topic lives (rebuilt from Kafka at each start). */
  viewDir: string;
  /** Request/response: how long to wait for the processed result (then 504). */
  responseTimeoutMs: number;
  /** Request/response: requests waiting at once (beyond: 503). */
  maxWaitingResponses: number;
  /** One-way: events queued for the background send (beyond: dropped, counted). */
  oneWayQueueEvents: number;
  auth: AuthConfig;
  /** How often the edge counts the live edges, which share each key's rate limit. */
  liveEdgesPollMs: number;
  /** The admin API's key (http/admin-routes.ts); unset: the admin API is off. */
  adminKey?: string;
  /** How often the edge publishes its quota usage to the other edges (T of docs/sources.md). */
  usageReportMs: number;
  corsOrigins: string[];
  /** Browser app ids (Snowplow `aid`) -> their source (sdk/app-ids.ts). */
  browserAppIds: Map<string, string>;
  accessLog: 'all' | 'errors' | 'off';
  /** Streaming ingest (`/v1/stream`, WebSocket and chunked NDJSON). */
  stream: {
    maxMessageBytes: number;
    maxPendingEvents: number;
    ackIntervalMs: number;
    pingIntervalMs: number;
    idleTimeoutMs: number;
  };
  /** Publish/subscribe (`/v1/subscribe/:topic`). */
  subscribe: SubscribeLimits;
  /** One-way UDP listener: port 0 (the default) keeps it off. */
  udp: { host: string; port: number; source: string };
}

export const edgeDefaults = {
  host: '127.0.0.1',
  port: 8081,
  maxBodyBytes: 1024 * 1024,
  maxEventsPerRequest: 1000,
  defaultSource: 'default',
  drainGraceMs: 5000,
};

/**
 * The read window's default per Kafka client: kafkajs encodes each request more slowly
 * and wants more queued behind it (docs/performance.md, "read window").
 */
const READ_WINDOW_BYTES: Record<KafkaClientName, number> = {
  kafkajs: 512 * 1024,
  platformatic: 128 * 1024,
};

export function loadEdgeConfig(env: Record<string, string | undefined> = process.env): EdgeConfig {
  const r = new EnvReader(env);
  const port = r.int('INTAKE_EDGE_PORT', edgeDefaults.port, { min: 0, max: 65535 });
  const kafka = readKafkaConfig(r, 'intake-edge');
  const kafkaClient = kafka.client;
  const config: EdgeConfig = {
    instance: r.str('INTAKE_INSTANCE', `edge-${hostname()}-${port}`),
    host: r.str('INTAKE_EDGE_HOST', edgeDefaults.host),
    port,
    kafka,
    producer: {
      lingerMs: r.int('INTAKE_PRODUCER_LINGER_MS', batchingDefaults.lingerMs, {
        min: 0,
        max: 1000,
      }),
      maxBatchBytes: r.int('INTAKE_PRODUCER_MAX_BATCH_BYTES', batchingDefaults.maxBatchBytes, {
        min: 1024,
      }),
      maxInFlightBytes: r.int(
        'INTAKE_PRODUCER_MAX_INFLIGHT_BYTES',
        batchingDefaults.maxInFlightBytes,
        { min: 1024 },
      ),
      ackTimeoutMs: r.int('INTAKE_PRODUCER_ACK_TIMEOUT_MS', batchingDefaults.ackTimeoutMs, {
        min: 100,
      }),
    },
    producerLanes: r.int('INTAKE_PRODUCER_LANES', 1, { min: 1, max: 16 }),
    kafkaClient,
    readWindowBytes: r.int('INTAKE_EDGE_READ_WINDOW_BYTES', READ_WINDOW_BYTES[kafkaClient], {
      min: 0,
    }),
    maxBodyBytes: r.int('INTAKE_MAX_BODY_BYTES', edgeDefaults.maxBodyBytes, { min: 1024 }),
    maxEventBytes: r.int('INTAKE_MAX_EVENT_BYTES', 128 * 1024, { min: 64 }),
    maxEventsPerRequest: r.int('INTAKE_MAX_EVENTS_PER_REQUEST', edgeDefaults.maxEventsPerRequest, {
      min: 1,
    }),
    defaultSource: r.str('INTAKE_DEFAULT_SOURCE', edgeDefaults.defaultSource),
    drainGraceMs: r.int('INTAKE_DRAIN_GRACE_MS', edgeDefaults.drainGraceMs, { min: 0 }),
    responseTimeoutMs: r.int('INTAKE_RESPONSE_TIMEOUT_MS', 10_000, { min: 10, max: 300_000 }),
    auth: {
      required: r.oneOf('INTAKE_AUTH', 'on', ['on', 'off'] as const) === 'on',
      keys: parseApiKeys(r.list('INTAKE_API_KEYS', [])),
      rateLimit: {
        perSecond: r.int('INTAKE_RATE_LIMIT_PER_SECOND', 2000, { min: 1 }),
        burst: r.int('INTAKE_RATE_LIMIT_BURST', 4000, { min: 1 }),
      },
      rateLimitBySource: parseRateLimits(r.list('INTAKE_RATE_LIMITS', [])),
    },
    liveEdgesPollMs: r.int('INTAKE_LIVE_EDGES_POLL_MS', 5000, { min: 100 }),
    adminKey: r.str('INTAKE_ADMIN_KEY', '') || undefined,
    usageReportMs: r.int('INTAKE_USAGE_REPORT_MS', 1000, { min: 100, max: 60_000 }),
    corsOrigins: r.list('INTAKE_CORS_ORIGINS', []),
    browserAppIds: parseBrowserAppIds(r.list('INTAKE_BROWSER_APP_IDS', [])),
    stream: {
      maxMessageBytes: r.int('INTAKE_STREAM_MAX_MESSAGE_BYTES', 1024 * 1024, { min: 1024 }),
      maxPendingEvents: r.int('INTAKE_STREAM_MAX_PENDING_EVENTS', streamDefaults.maxPendingEvents, {
        min: 1,
      }),
      ackIntervalMs: r.int('INTAKE_STREAM_ACK_INTERVAL_MS', streamDefaults.ackIntervalMs, {
        min: 0,
        max: 1000,
      }),
      pingIntervalMs: r.int('INTAKE_STREAM_PING_MS', 30_000, { min: 100 }),
      idleTimeoutMs: r.int('INTAKE_STREAM_IDLE_TIMEOUT_MS', 300_000, { min: 100 }),
    },
    subscribe: {
      maxSubscribers: r.int('INTAKE_SUBSCRIBE_MAX', subscribeDefaults.maxSubscribers, { min: 0 }),
      maxBufferedBytes: r.int(
        'INTAKE_SUBSCRIBE_MAX_BUFFERED_BYTES',
        subscribeDefaults.maxBufferedBytes,
        { min: 2 * FETCH_MAX_BYTES },
      ),
      heartbeatMs: r.int('INTAKE_SUBSCRIBE_HEARTBEAT_MS', subscribeDefaults.heartbeatMs, {
        min: 100,
      }),
      ringSize: r.int('INTAKE_SUBSCRIBE_REPLAY_EVENTS', subscribeDefaults.ringSize, { min: 0 }),
      maxCatchUps: r.int('INTAKE_SUBSCRIBE_MAX_CATCH_UPS', subscribeDefaults.maxCatchUps, {
        min: 1,
      }),
    },
    udp: {
      host: r.str('INTAKE_UDP_HOST', '127.0.0.1'),
      port: r.int('INTAKE_UDP_PORT', 0, { min: 0, max: 65535 }),
      source: r.str('INTAKE_UDP_SOURCE', 'udp'),
    },
    accessLog: r.oneOf('INTAKE_ACCESS_LOG', 'errors', ['all', 'errors', 'off'] as const),
    oneWayQueueEvents: r.int('INTAKE_ONE_WAY_QUEUE_EVENTS', 50_000, { min: 1 }),
    maxWaitingResponses: r.int('INTAKE_MAX_WAITING_RESPONSES', 10_000, { min: 1 }),
    viewDir: r.str('INTAKE_EDGE_VIEW_DIR', `.intake/edge-${port}/views`),
  };
  r.done();
  if (config.auth.required && config.auth.keys.size === 0) {
    throw new IntakeError(
      'CONFIG_INVALID',
      'INTAKE_API_KEYS is empty while INTAKE_AUTH=on: set INTAKE_API_KEYS=source:key[,source:key] (or INTAKE_AUTH=off for an open edge).',
    );
  }
  return config;
}
