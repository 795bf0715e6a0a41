/**
 * The edge's sources, started and stopped as one part of main.ts: it follows the sources
 * topic (keys, policies), the forget topic (forgotten keys) and the usage topic (quotas
 * across the fleet), seeds the sources topic with `INTAKE_API_KEYS` (only the sources it
 * does not hold: lib/sources/seed.ts), and waits, up to `startTimeoutMs`, until it read
 * the seeded records back, so the edge answers with them from its first request. The topic
 * is the source of truth: a key `INTAKE_API_KEYS` lists for a source the topic holds
 * under other keys is refused, and the edge logs `seed_key_not_applied` (a warning naming
 * the source, never the key or its hash) once per such source at start.
 *
 * A broker without these topics (a fleet created before them): the edge logs
 * `sources_topics_missing` and keeps today's behaviour (`active` false: the keys of
 * `INTAKE_API_KEYS`, no quotas or policies) until it is restarted with the topics there.
 */
import type { Logger } from '../../../lib/logger';
import { kafkaDefaults } from '../../../lib/config';
import type { KafkaConfig } from '../../../lib/config';
import type { KafkaClient, Producer } from '../../../lib/kafka/port';
import { sleep } from '../../../lib/lifecycle';
import { encodeSource } from '../../../lib/records/source';
import { SourceAdmin } from '../../../lib/sources/admin';
import { SourceBook } from '../../../lib/sources/book';
import { Forgotten } from '../../../lib/sources/forgotten';
import { FleetQuotas } from '../../../lib/sources/quota';
import { seedKeysNotApplied, seedSources } from '../../../lib/sources/seed';
import { missingSourceTopics } from '../../../lib/sources/topics';
import type { ListedKey } from '../../../lib/sources/seed';
import { writeKeyed } from '../../../lib/sources/write';
import type { EdgeMetrics } from '../metrics';
import { SourcePolicy } from './source-policy';
import { UsageShare } from './usage-share';

/** What an operator does about a key of `INTAKE_API_KEYS` the topic does not hold. */
const SEED_KEY_ACTION =
  'INTAKE_API_KEYS lists a key this source does not hold, so it is refused: the sources topic ' +
  'is the source of truth. Rotate the key (npm run intake -- sources rotate-key NAME, or ' +
  'POST /admin/sources/NAME/rotate-key) and give the new key to the producer and to ' +
  'INTAKE_API_KEYS, or take the entry out of INTAKE_API_KEYS.';

export interface EdgeSourcesDeps {
  kafka: KafkaClient;
  topics: KafkaConfig['topics'];
  instance: string;
  /** `INTAKE_API_KEYS`, by key. */
  seed: ReadonlyMap<string, ListedKey>;
  usageIntervalMs: number;
  metrics: EdgeMetrics;
  logger: Logger;
  startTimeoutMs?: number;
}

export class EdgeSources {
  readonly book: SourceBook;
  readonly forgotten: Forgotten;
  readonly quotas: FleetQuotas;
  readonly usage: UsageShare;
  readonly policy: SourcePolicy;
  /** The admin API's operations, writing through the edge's own producer. */
  readonly admin: SourceAdmin;
  private readonly producer: Producer;
  private readonly log: Logger;
  /** False when the broker lacks the topics: the edge then works as before sources. */
  active = false;

  constructor(private readonly deps: EdgeSourcesDeps) {
    const { kafka, topics, logger, metrics } = deps;
    this.log = logger.child({ module: 'sources' });
    const skipped = (topic: string) => (): void => metrics.sourceRecordsSkipped.inc({ topic });
    this.book = new SourceBook({
      kafka,
      topic: topics.sources,
      logger,
      onSkipped: skipped(topics.sources),
      onChange: (name, source) => {
        if (!source) this.quotas.remove(name);
        this.log.info(
          { source: name, version: source?.version ?? null, enabled: source?.enabled ?? false },
          'source_changed',
        );
      },
    });
    this.forgotten = new Forgotten({
      kafka,
      topic: topics.forgets,
      logger,
      onSkipped: skipped(topics.forgets),
    });
    this.quotas = new FleetQuotas({
      edge: deps.instance,
      quotasOf: (name) => this.book.get(name)?.quotas,
    });
    this.usage = new UsageShare({
      kafka,
      topic: topics.usage,
      instance: deps.instance,
      quotas: this.quotas,
      intervalMs: deps.usageIntervalMs,
      logger,
      onSkipped: skipped(topics.usage),
    });
    this.policy = new SourcePolicy({
      quotas: this.quotas,
      privacy: (name) => this.book.privacy(name),
      forgotten: (name, key) => this.forgotten.has(name, key),
      events: metrics.sourceEvents,
    });
    this.producer = kafka.producer();
    this.admin = new SourceAdmin({ book: this.book, producer: this.producer, topics });
  }

  async start(): Promise<void> {
    const config = { ...kafkaDefaults, topics: this.deps.topics };
    const missing = await missingSourceTopics(this.deps.kafka.admin(), config);
    if (missing.length > 0) {
      this.log.warn({ missing }, 'sources_topics_missing');
      return;
    }
    this.active = true;
    await Promise.all([
      this.book.start(),
      this.forgotten.start(),
      this.usage.start(),
      this.producer.connect(),
    ]);
    await Promise.all([this.book.ready(), this.forgotten.ready(), this.usage.ready()]);
    const now = Date.now();
    for (const name of seedKeysNotApplied(this.deps.seed, (n) => this.book.get(n), now))
      this.log.warn({ source: name, action: SEED_KEY_ACTION }, 'seed_key_not_applied');
    const seeds = seedSources(this.deps.seed, (name) => this.book.has(name), now);
    if (seeds.length === 0) return;
    await writeKeyed(
      this.producer,
      this.deps.topics.sources,
      seeds.map((s) => ({ key: s.name, value: encodeSource(s) })),
    );
    this.log.info({ sources: seeds.map((s) => s.name) }, 'sources_seeded');
    const deadline = Date.now() + (this.deps.startTimeoutMs ?? 10_000);
    while (!seeds.every((s) => this.book.has(s.name)) && Date.now() < deadline) await sleep(50);
  }

  async stop(): Promise<void> {
    if (!this.active) return;
    await this.usage.stop();
    await Promise.all([this.book.stop(), this.forgotten.stop(), this.producer.disconnect()]);
  }
}
