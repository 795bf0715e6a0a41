/**
 * Reading configuration from environment variables: each service declares one defaults
 * object and one reader function; every variable is validated once at start, and all bad
 * variables are reported together in one error that names them, so a process fails fast
 * with a message an operator can act on.
 */
import { IntakeError } from './errors';
import { KAFKA_CLIENTS } from './kafka/port';
import type { KafkaClientName } from './kafka/port';

/**
 * Where a worker processes its chunks (`INTAKE_WORKER_PROCESSING_THREAD`,
 * services/worker/processing/): on the consumer's thread (`off`) or a thread of their own
 * (`on`). Here because the fleet CLI sets it per worker too.
 */
export const PROCESSING_THREAD = ['off', 'on'] as const;
export type ProcessingThread = (typeof PROCESSING_THREAD)[number];

type Env = Record<string, string | undefined>;

export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env = process.env) {}

  str(name: string, fallback: string): string {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    return raw;
  }

  int(name: string, fallback: number, bounds: { min?: number; max?: number } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(raw)} is not an integer in [${min}, ${max}]`);
      return fallback;
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    this.problems.push(`${name}=${JSON.stringify(raw)} is not a boolean (true/false)`);
    return fallback;
  }

  /** A comma-separated list; empty items are ignored. */
  list(name: string, fallback: readonly string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return [...fallback];
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) this.problems.push(`${name} is set but lists nothing`);
    return items.length > 0 ? items : [...fallback];
  }

  /** A comma-separated list whose every item is one of `allowed` (unset: empty). */
  listOf<T extends string>(name: string, allowed: readonly T[]): T[] {
    const items = this.list(name, []);
    const unknown = items.filter((c) => !(allowed as readonly string[]).includes(c));
    if (unknown.length > 0)
      this.problems.push(
        `${name} lists ${unknown.join(', ')}: each must be one of ${allowed.join(', ')}`,
      );
    return items.filter((c): c is T => (allowed as readonly string[]).includes(c));
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}=${JSON.stringify(raw)} is not one of ${allowed.join(', ')}`);
    return fallback;
  }

  /** A JSON value (an object, by default). */
  json<T>(name: string, fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    try {
      const value = JSON.parse(raw) as unknown;
      if (typeof value === 'object' && value !== null) return value as T;
    } catch {
      // reported below
    }
    this.problems.push(`${name} is not a JSON object`);
    return fallback;
  }

  /** Throws one `CONFIG_INVALID` error naming every bad variable, if any. */
  done(): void {
    if (this.problems.length > 0) {
      throw new IntakeError(
        'CONFIG_INVALID',
        `invalid configuration: ${this.problems.join('; ')}. Fix these environment variables and start again.`,
      );
    }
  }
}

/** Kafka connection settings shared by every service. */
export interface KafkaConfig {
  /** The Kafka client of the service (`INTAKE_KAFKA_CLIENT`, default kafkajs). */
  client: KafkaClientName;
  brokers: string[];
  clientId: string;
  topics: {
    raw: string;
    processed: string;
    dlq: string;
    /** Compacted: each visitor's latest purchase-propensity score (and the scorer's changelog). */
    scores: string;
    /** Compacted: per raw partition, the offset below which everything is delivered. */
    progress: string;
    /** Request/response outcomes, read by the waiting edges. */
    replies: string;
    /** Compacted: why a raw record went to the DLQ, keyed `<raw topic>/<partition>/<offset>` (for receipts). */
    rejections: string;
    /** Compacted: each puller upstream's resume position, written in the same transaction as its events. */
    pullerPositions: string;
    /** Compacted: each source's settings, keyed by its name (lib/records/source.ts). */
    sources: string;
    /** Compacted: forget requests, keyed `<source>/<key>` (lib/records/forget.ts). */
    forgets: string;
    /** Compacted: each edge's usage report, keyed by its instance name (lib/records/usage.ts). */
    usage: string;
  };
}

export const kafkaDefaults: KafkaConfig = {
  client: 'kafkajs',
  brokers: ['127.0.0.1:9092'],
  clientId: 'intake',
  topics: {
    raw: 'intake.raw',
    processed: 'intake.processed',
    dlq: 'intake.dlq',
    scores: 'intake.scores',
    progress: 'intake.progress',
    rejections: 'intake.rejections',
    replies: 'intake.replies',
    pullerPositions: 'intake.puller-positions',
    sources: 'intake.sources',
    forgets: 'intake.forgets',
    usage: 'intake.usage',
  },
};

/** A topic's role in the fleet (`raw`, `processed`, ...): a key of `KafkaConfig['topics']`. */
export type TopicRole = keyof KafkaConfig['topics'];

/**
 * The environment variable naming each topic, as `readKafkaConfig` reads it (the reader
 * spells each name out, so the documentation check finds every read; a unit test keeps
 * the two in step).
 */
export const TOPIC_ENV: Readonly<Record<TopicRole, string>> = {
  raw: 'INTAKE_TOPIC_RAW',
  processed: 'INTAKE_TOPIC_PROCESSED',
  dlq: 'INTAKE_TOPIC_DLQ',
  scores: 'INTAKE_TOPIC_SCORES',
  progress: 'INTAKE_TOPIC_PROGRESS',
  replies: 'INTAKE_TOPIC_REPLIES',
  rejections: 'INTAKE_TOPIC_REJECTIONS',
  pullerPositions: 'INTAKE_TOPIC_PULLER_POSITIONS',
  sources: 'INTAKE_TOPIC_SOURCES',
  forgets: 'INTAKE_TOPIC_FORGETS',
  usage: 'INTAKE_TOPIC_USAGE',
};

export function readKafkaConfig(r: EnvReader, clientId: string): KafkaConfig {
  return {
    client: r.oneOf('INTAKE_KAFKA_CLIENT', kafkaDefaults.client, KAFKA_CLIENTS),
    brokers: r.list('INTAKE_KAFKA_BROKERS', kafkaDefaults.brokers),
    clientId: r.str('INTAKE_KAFKA_CLIENT_ID', clientId),
    topics: {
      raw: r.str('INTAKE_TOPIC_RAW', kafkaDefaults.topics.raw),
      processed: r.str('INTAKE_TOPIC_PROCESSED', kafkaDefaults.topics.processed),
      dlq: r.str('INTAKE_TOPIC_DLQ', kafkaDefaults.topics.dlq),
      scores: r.str('INTAKE_TOPIC_SCORES', kafkaDefaults.topics.scores),
      progress: r.str('INTAKE_TOPIC_PROGRESS', kafkaDefaults.topics.progress),
      replies: r.str('INTAKE_TOPIC_REPLIES', kafkaDefaults.topics.replies),
      rejections: r.str('INTAKE_TOPIC_REJECTIONS', kafkaDefaults.topics.rejections),
      pullerPositions: r.str('INTAKE_TOPIC_PULLER_POSITIONS', kafkaDefaults.topics.pullerPositions),
      sources: r.str('INTAKE_TOPIC_SOURCES', kafkaDefaults.topics.sources),
      forgets: r.str('INTAKE_TOPIC_FORGETS', kafkaDefaults.topics.forgets),
      usage: r.str('INTAKE_TOPIC_USAGE', kafkaDefaults.topics.usage),
    },
  };
}
