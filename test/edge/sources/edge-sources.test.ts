/**
 * The edge's sources at start (services/edge/sources/edge-sources.ts), on a fake Kafka:
 * a key that `INTAKE_API_KEYS` lists for a source the topic already holds under other
 * keys is not applied (the topic is the source of truth), and the edge says so once per
 * source at start, without the key or its hash.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { kafkaDefaults } from '../../../lib/config';
import type { Producer } from '../../../lib/kafka/port';
import { createRegistry } from '../../../lib/metrics';
import { encodeSource } from '../../../lib/records/source';
import type { SourceRecord } from '../../../lib/records/source';
import { hashKey } from '../../../lib/sources/keys';
import { seedSources } from '../../../lib/sources/seed';
import type { ListedKey } from '../../../lib/sources/seed';
import { createEdgeMetrics } from '../../../services/edge/metrics';
import { EdgeSources } from '../../../services/edge/sources/edge-sources';
import { FakeKafka } from '../../support/fakes';
import type { FakeAdmin } from '../../support/fakes';

const topics = kafkaDefaults.topics;

/** A fake Kafka whose only topic holds the sources topic's records; every topic exists. */
class SourcesKafka extends FakeKafka {
  readonly written: unknown[] = [];

  override producer = (): Producer => ({
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    reset: () => Promise.resolve(),
    sendBatch: (request) => {
      this.written.push(request);
      return Promise.resolve([]);
    },
  });

  override admin(): FakeAdmin {
    const admin = super.admin();
    admin.listTopics = () => Promise.resolve([topics.sources, topics.forgets, topics.usage]);
    return admin;
  }
}

const listed = (name: string): ListedKey => ({ source: name, enabled: true, topics: new Set() });

/** The source as an earlier start seeded it from `key`. */
const source = (name: string, key: string): SourceRecord =>
  seedSources(new Map([[key, listed(name)]]), () => false, Date.now())[0]!;

/** Starts the edge's sources with `held` on the topic and `seed` as INTAKE_API_KEYS; its log lines. */
async function startWith(
  held: SourceRecord[],
  seed: Map<string, ListedKey>,
): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const kafka = new SourcesKafka();
  kafka.data.set(
    0,
    held.map((s) => ({ key: s.name, value: encodeSource(s) })),
  );
  const sources = new EdgeSources({
    kafka,
    topics,
    instance: 'edge-1',
    seed,
    usageIntervalMs: 60_000,
    metrics: createEdgeMetrics(createRegistry('edge', 'test'), { inFlightBytes: () => 0 }),
    logger: pino({ level: 'info' }, stream),
    startTimeoutMs: 200,
  });
  await sources.start();
  await sources.stop();
  return lines;
}

const notApplied = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => l.msg === 'seed_key_not_applied');

describe('EdgeSources seeding from INTAKE_API_KEYS', () => {
  it('warns once, naming the source, when the listed key is not the held source key', async () => {
    const lines = await startWith(
      [source('shop', 'key-in-topic')],
      new Map([
        ['key-from-env', listed('shop')],
        ['key-from-env-2', listed('shop')],
      ]),
    );
    const warnings = notApplied(lines);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, source: 'shop' });
    expect(warnings[0]!.action).toMatch(/sources rotate-key NAME/);
    expect(lines.some((l) => l.msg === 'sources_seeded')).toBe(false);
    const text = JSON.stringify(lines);
    for (const secret of ['key-from-env', hashKey('key-from-env'), hashKey('key-from-env-2')])
      expect(text).not.toContain(secret);
  });

  it('says nothing when the listed key is the held source key', async () => {
    const lines = await startWith(
      [source('shop', 'same-key')],
      new Map([['same-key', listed('shop')]]),
    );
    expect(notApplied(lines)).toEqual([]);
    expect(lines.some((l) => l.msg === 'sources_seeded')).toBe(false);
  });

  it('says nothing for a source it seeds itself', async () => {
    const lines = await startWith([], new Map([['new-key', listed('web')]]));
    expect(notApplied(lines)).toEqual([]);
    expect(lines.some((l) => l.msg === 'sources_seeded')).toBe(true);
  });
});
