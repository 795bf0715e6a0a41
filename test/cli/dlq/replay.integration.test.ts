/**
 * DLQ replay against a real broker: dead-lettered records go back to the raw topic with
 * their key and value, DLQ headers replaced by replay headers; a second replay continues
 * after the first (nothing twice) unless asked to start over.
 */
import type { Admin } from '../../../lib/kafka/port';
import { replayDlq } from '../../../services/cli/dlq/replay';
import type { ReplayOptions } from '../../../services/cli/dlq/replay';
import {
  createTopic,
  randomName,
  readTopic,
  testKafka,
  sendRecords,
} from '../../support/kafka-helpers';
import { TEST_BROKER } from '../../support/test-env';

describe('intake dlq replay (real broker)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const dlqTopic = randomName('dlq');
  const rawTopic = randomName('raw');
  let admin: Admin;
  const options = (extra: Partial<ReplayOptions> = {}): ReplayOptions => ({
    kafka,
    dlqTopic,
    rawTopic,
    groupId: randomName('replay-group').replace(/-[^-]+$/, '-fixed'),
    fromBeginning: false,
    limit: 0,
    dryRun: false,
    progress: false,
    ...extra,
  });

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await createTopic(admin, dlqTopic, 2);
    await createTopic(admin, rawTopic, 2);
    const producer = kafka.producer();
    await producer.connect();
    await sendRecords(
      producer,
      dlqTopic,
      Array.from({ length: 10 }, (_, i) => ({
        key: `k${i}`,
        value: JSON.stringify({ id: `dead-${i}`, type: i < 6 ? 'page_view' : 'checkout' }),
        headers: {
          'intake-id': `dead-${i}`,
          'intake-dlq-reason': 'bad shape',
          'intake-source-offset': String(i),
        },
      })),
    );
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('replays each dead-lettered record once, with replay headers, and continues after the last replay', async () => {
    const opts = options();
    const dry = await replayDlq({ ...opts, dryRun: true });
    expect(dry).toMatchObject({ scanned: 10, replayed: 10 });

    const first = await replayDlq({ ...opts, type: 'page_view' });
    expect(first).toEqual({ scanned: 10, replayed: 6, skipped: 4 });
    const raw = await readTopic(kafka, rawTopic, (m) => m.length >= 6);
    expect(raw.map((m) => m.headers['intake-id']).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `dead-${i}`),
    );
    for (const m of raw) {
      expect(m.headers['intake-dlq-reason']).toBeUndefined();
      expect(m.headers['intake-replay-count']).toBe('1');
      expect(m.headers['intake-replayed-from']).toMatch(/^dlq\/\d+\/\d+$/);
    }

    expect(await replayDlq(opts)).toEqual({ scanned: 0, replayed: 0, skipped: 0 });
    expect(await replayDlq({ ...opts, fromBeginning: true, limit: 3 })).toMatchObject({
      replayed: 3,
    });
  });
});
