/**
 * Sources as data on the real broker: the built edge process follows the sources topic
 * and the built CLI writes it. A source added with the CLI is accepted within seconds
 * without a restart; a disabled one is refused; a rotated key works during its grace and
 * not after; a redacted field is absent from the intake.raw record itself; a malformed
 * source record is skipped (logged, counted) and the source keeps its last good settings;
 * a source's origins set with the CLI open CORS to them and refuse its key from any
 * other origin (403); a Segment batch over its source's per-day quota gets 429 with
 * Retry-After and none of its events reaches intake.raw.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { kafkaDefaults } from '../../../lib/config';
import { ensureTopics, intakeTopics } from '../../../lib/kafka/topics';
import type { Producer } from '../../../lib/kafka/port';
import { sourceTopics } from '../../../lib/sources/topics';
import {
  randomTopics,
  readTopic,
  sendRecords,
  testKafka,
  topicEnv,
  waitFor,
} from '../../support/kafka-helpers';
import { ROOT, TEST_BROKER } from '../../support/test-env';

const run = promisify(execFile);
const offset = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const PORT = 19181 + offset;
const BASE = `http://127.0.0.1:${PORT}`;
const SEED_KEY = 'seeded-key-0123456789abcdef';

describe('sources on the real broker (edge and CLI processes)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const topics = randomTopics('src');
  const env = {
    ...process.env,
    INTAKE_KAFKA_BROKERS: TEST_BROKER.brokers.join(','),
    INTAKE_LOG_LEVEL: 'warn',
    ...topicEnv(topics),
  };
  const viewDir = mkdtempSync(join(tmpdir(), 'intake-sources-'));
  let edge: ChildProcess;
  let edgeLog = '';
  let producer: Producer;

  const cli = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(
      process.execPath,
      [resolve(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args],
      { env, timeout: 60_000 },
    );
    return stdout.trim();
  };

  const post = async (key: string, body: unknown): Promise<number> => {
    const res = await fetch(`${BASE}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    await res.text();
    return res.status;
  };

  /** Until the edge answers `status` for the key: the change reached it. */
  const answers = (key: string, status: number, what: string): Promise<true> =>
    waitFor(async () => (await post(key, { type: 'probe' })) === status, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what,
    });

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    const config = { ...kafkaDefaults, topics };
    await ensureTopics(admin, [...intakeTopics(config, 1), ...sourceTopics(config)]);
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    edge = spawn(process.execPath, [resolve(ROOT, 'dist', 'services', 'edge', 'main.js')], {
      env: {
        ...env,
        INTAKE_EDGE_PORT: String(PORT),
        INTAKE_INSTANCE: 'edge-sources-test',
        INTAKE_API_KEYS: `seeded:${SEED_KEY}`,
        INTAKE_EDGE_VIEW_DIR: viewDir,
        INTAKE_DRAIN_GRACE_MS: '0',
        INTAKE_USAGE_REPORT_MS: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    edge.stdout!.on('data', (d: Buffer) => (edgeLog += d.toString()));
    edge.stderr!.on('data', (d: Buffer) => (edgeLog += d.toString()));
    await waitFor(async () => (await fetch(`${BASE}/readyz`).catch(() => null))?.status === 200, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'the edge to be ready',
    });
  });

  afterAll(async () => {
    if (edge && edge.exitCode === null) {
      const exited = new Promise((r) => edge.once('exit', r));
      edge.kill('SIGTERM');
      await exited;
    }
    await producer?.disconnect();
    rmSync(viewDir, { recursive: true, force: true });
  });

  it('seeds the topic from INTAKE_API_KEYS: the seeded key is accepted', async () => {
    expect(await post(SEED_KEY, { type: 'seeded' })).toBe(202);
    const listed = JSON.parse(await cli('sources', 'list', '--json')) as { name: string }[];
    expect(listed.map((s) => s.name)).toContain('seeded');
  });

  it('accepts a source added with the CLI within seconds, and refuses it once disabled', async () => {
    const added = JSON.parse(await cli('sources', 'add', 'shop', '--json')) as {
      source: string;
      key: string;
    };
    expect(added.source).toBe('shop');
    expect(added.key).toMatch(/^ik_/);
    await answers(added.key, 202, 'the added source to be accepted');
    await cli('sources', 'disable', 'shop');
    await answers(added.key, 403, 'the disabled source to be refused');
  });

  it('keeps a rotated key working during its grace period, and not after', async () => {
    const { key: old } = JSON.parse(await cli('sources', 'add', 'rot', '--json')) as {
      key: string;
    };
    await answers(old, 202, 'the new source');
    // The grace runs from the CLI's write, after `asked` and before the CLI returns.
    const asked = Date.now();
    const { key: fresh } = JSON.parse(
      await cli('sources', 'rotate-key', 'rot', '--grace', '20s', '--json'),
    ) as { key: string };
    await answers(fresh, 202, 'the new key');
    const inGrace = await post(old, { type: 'in-grace' });
    const checkedAt = Date.now();
    // Asked within the grace (a machine too slow for that fails here, loudly).
    expect(checkedAt - asked).toBeLessThan(20_000);
    expect(inGrace).toBe(202);
    await waitFor(async () => (await post(old, { type: 'probe' })) === 403, {
      timeoutMs: 40_000,
      intervalMs: 250,
      what: 'the old key to expire after its grace',
    });
    expect(Date.now() - asked).toBeGreaterThanOrEqual(20_000);
    expect(await post(fresh, { type: 'after-grace' })).toBe(202);
  });

  it('writes no redacted field to intake.raw, and the hashed one hashed', async () => {
    const { key } = JSON.parse(await cli('sources', 'add', 'priv', '--json')) as { key: string };
    await answers(key, 202, 'the new source');
    await cli('sources', 'set', 'priv', '--redact', '/email', '--hash', '/card', '--ip', 'drop');
    // Events sent until the policy is seen applied; every later one must be redacted too.
    let n = 0;
    const send = async (): Promise<void> => {
      n += 1;
      const data = { email: 'someone@shop.example', card: '4111-1111', n };
      expect(await post(key, { id: `priv-${n}`, type: 'order', key: 'v', data })).toBe(202);
    };
    const raw = (): Promise<
      { data: Record<string, unknown>; meta: Record<string, unknown>; id: string }[]
    > =>
      readTopic(
        kafka,
        topics.raw,
        (m) => m.some((r) => r.value.includes(`"priv-${n}"`)),
        20_000,
      ).then((ms) =>
        ms
          .map(
            (m) =>
              JSON.parse(m.value) as {
                data: Record<string, unknown>;
                meta: Record<string, unknown>;
                id: string;
                source: string;
              },
          )
          .filter((e) => e.source === 'priv' && e.id.startsWith('priv-')),
      );
    await waitFor(
      async () => {
        await send();
        const events = await raw();
        return events.some((e) => !('email' in e.data));
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'the policy to apply' },
    );
    await send();
    const events = await raw();
    const first = events.findIndex((e) => !('email' in e.data));
    const after = events.slice(first);
    expect(after.length).toBeGreaterThanOrEqual(2);
    for (const e of after) {
      expect(e.data).toEqual({
        card: expect.stringMatching(/^[0-9a-f]{64}$/),
        n: expect.any(Number),
      });
      expect(e.data.card).not.toBe('4111-1111');
      expect(e.meta.ip).toBeUndefined();
      expect(JSON.stringify(e)).not.toContain('someone@shop.example');
    }
  });

  it("registers a source's browser app ids: a Snowplow tracker with that aid is its source", async () => {
    await cli('sources', 'add', 'web');
    await cli('sources', 'set', 'web', '--app-ids', 'web-shop');
    const track = async (aid: string): Promise<number> => {
      const res = await fetch(`${BASE}/com.snowplowanalytics.snowplow/tp2`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8' },
        body: JSON.stringify({
          schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
          data: [
            {
              e: 'pv',
              eid: `aid-${aid}-${Date.now()}`,
              aid,
              duid: 'd-1',
              url: 'https://shop.example/',
            },
          ],
        }),
      });
      await res.text();
      return res.status;
    };
    await waitFor(async () => (await track('web-shop')) === 200, {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: 'the app id to be registered',
    });
    expect(await track('not-registered')).toBe(403);
  });

  it("follows a source's origins: CORS allows them within seconds, another origin gets 403", async () => {
    const SHOP = 'https://shop.example';
    const { key } = JSON.parse(await cli('sources', 'add', 'store', '--json')) as { key: string };
    await answers(key, 202, 'the new source');
    await cli('sources', 'set', 'store', '--origins', SHOP);
    const preflight = (): Promise<Response> =>
      fetch(`${BASE}/v1/events`, {
        method: 'OPTIONS',
        headers: {
          origin: SHOP,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    // No INTAKE_CORS_ORIGINS on this edge: only the source opens CORS to the shop.
    await waitFor(
      async () => (await preflight()).headers.get('access-control-allow-origin') === SHOP,
      { timeoutMs: 15_000, intervalMs: 200, what: "the source's origin to be allowed by CORS" },
    );
    const from = (origin: string): Promise<Response> =>
      fetch(`${BASE}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, origin },
        body: JSON.stringify({ type: 'from-origin' }),
      });
    const refused = await from('https://other.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await refused.json()) as { type: string; detail: string };
    expect(problem.type).toBe('https://intake.dev/problems/origin-not-allowed');
    expect(problem.detail).toContain('npm run intake -- sources set store --origins');
    const allowed = await from(SHOP);
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(SHOP);
    await allowed.text();
    expect(await post(key, { type: 'no-origin' })).toBe(202);
  });

  it("refuses a Segment batch over its source's per-day quota: 429, Retry-After, nothing written", async () => {
    const { key } = JSON.parse(await cli('sources', 'add', 'seg', '--json')) as { key: string };
    await cli('sources', 'set', 'seg', '--per-day', '25');
    const batch = async (n: number): Promise<Response> =>
      fetch(`${BASE}/v1/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
        },
        body: JSON.stringify({
          batch: Array.from({ length: 20 }, (_, i) => ({
            type: 'track',
            event: 'order',
            userId: 'u-1',
            messageId: `seg-${n}-${i}`,
          })),
        }),
      });
    // Batches of 20 until the edge holds the source to its quota (the change reached
    // it): then the first batch takes 20 of the day's 25, and the next is refused.
    const statuses: number[] = [];
    let refused: Response | undefined;
    await waitFor(
      async () => {
        const res = await batch(statuses.length);
        statuses.push(res.status);
        if (res.status !== 429) {
          await res.text();
          return false;
        }
        refused = res;
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'a batch over the quota to be refused' },
    );
    const over = statuses.length - 1;
    expect(statuses.slice(0, over).every((s) => s === 200 || s === 403)).toBe(true);
    expect(statuses[over - 1]).toBe(200);
    expect(refused!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused!.json()).toMatchObject({
      type: 'https://intake.dev/problems/quota-exceeded',
      source: 'seg',
      quota: 'per-day',
      limit: 25,
    });
    // The batch before it is in intake.raw; none of the refused one's events is.
    const raw = await readTopic(kafka, topics.raw, (ms) =>
      ms.some((m) => m.value.includes(`"seg-${over - 1}-19"`)),
    );
    expect(raw.some((m) => m.value.includes(`"seg-${over - 1}-19"`))).toBe(true);
    expect(raw.filter((m) => m.value.includes(`"seg-${over}-`))).toEqual([]);
  });

  it('skips a malformed source record (logged, counted) and keeps the last good settings', async () => {
    const { key } = JSON.parse(await cli('sources', 'add', 'kept', '--json')) as { key: string };
    await answers(key, 202, 'the new source');
    await sendRecords(producer, topics.sources, [
      {
        key: 'kept',
        value: JSON.stringify({
          name: 'kept',
          enabled: 'no',
          keys: [],
          updatedAt: new Date().toISOString(),
          version: 99,
        }),
      },
      { key: 'kept', value: 'not json' },
    ]);
    await waitFor(
      async () => {
        const text = await (await fetch(`${BASE}/metrics`)).text();
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('intake_edge_source_records_skipped_total') &&
              l.includes(topics.sources),
          );
        return line !== undefined && Number(line.split(' ').pop()) >= 2;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'the skipped records to be counted' },
    );
    expect(await post(key, { type: 'still-good' })).toBe(202);
    expect(edgeLog).toContain('record_skipped');
    expect(edgeLog).toContain('/enabled must be boolean');
  });
});
