/**
 * Real worker processes against a real broker, under faults: a crash between the log
 * sync and the send, SIGKILL under continuous load, workers joining and leaving, and a
 * partition handed over while its previous owner still has score records in flight.
 * The SIGKILL scenario runs with each logging mode (`INTAKE_LOGGING`): with HML, a
 * `read_committed` reader must also find no duplicate.
 * Every event written to the raw topic must reach the processed topic or the DLQ; after
 * dedup by id nothing is missing. Duplicate counts are printed for the report.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { toKafkaMessage, wrapEvent } from '../../lib/envelope';
import { auditDelivery } from '../support/audit';
import {
  randomName,
  readToEnd,
  readTopic,
  testKafka,
  waitFor,
  sendRecords,
} from '../support/kafka-helpers';
import { fileClients } from '../support/file-clients';
import { ROOT, TEST_BROKER } from '../support/test-env';
import { WorkerProcess, createWorkerTopics } from '../support/worker-process';
import type { WorkerTopics } from '../support/worker-process';

const kafka = testKafka(TEST_BROKER.brokers);

function rawEvent(
  id: string,
  key: string,
): { key: string; value: string; headers: Record<string, string> } {
  const r = wrapEvent(
    { id, type: 'page_view', key, data: { path: '/' } },
    {
      source: 'faults',
      pattern: 'request-ack',
      receivedAt: new Date(),
      meta: {},
    },
  );
  if (!r.ok) throw new Error(r.reason);
  const m = toKafkaMessage(r.envelope);
  return { key, value: m.value as string, headers: m.headers as Record<string, string> };
}

describe('worker under faults (real processes, real broker)', () => {
  const clients = fileClients(kafka);
  // The workers' logs and outbound logs: kept after the run, so a failed test's worker
  // logs can be read; the next run starts from an empty directory.
  const stateDir = resolve(ROOT, '.intake', 'test-workers');

  beforeAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
    mkdirSync(stateDir, { recursive: true });
  });

  // Every worker a test starts is killed after it, also when an expectation failed
  // half-way, so no worker outlives its test (and jest does not wait on it).
  const started: WorkerProcess[] = [];
  const spawnWorker = (...args: ConstructorParameters<typeof WorkerProcess>): WorkerProcess => {
    const worker = new WorkerProcess(...args);
    started.push(worker);
    return worker;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((w) => w.kill('SIGKILL')));
  });

  const freshTopics = (): Promise<WorkerTopics> => createWorkerTopics(clients.admin, 6);

  /** Writes `count` events (plus 2% garbage that must reach the DLQ); returns their ids. */
  async function produce(topic: string, prefix: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    const messages = Array.from({ length: count }, (_, i) => {
      const id = `${prefix}-${i}`;
      ids.push(id);
      if (i % 50 === 49)
        return { key: id, value: 'garbage, not an envelope', headers: { 'intake-id': id } };
      return rawEvent(id, `visitor-${i % 50}`);
    });
    await sendRecords(clients.producer, topic, messages);
    return ids;
  }

  it('scores a known sequence to the expected value, also across a worker restart, and dead-letters bad shapes', async () => {
    const topics = await freshTopics();
    const groupId = randomName('g');
    const send = async (id: string, type: string, data: unknown): Promise<void> => {
      const r = wrapEvent(
        { id, type, key: 'shopper', data },
        { source: 's', pattern: 'request-ack', receivedAt: new Date(), meta: {} },
      );
      if (!r.ok) throw new Error(r.reason);
      await sendRecords(clients.producer, topics.raw, [toKafkaMessage(r.envelope)]);
    };
    type Score = {
      score: number;
      counts: { pageViews: number; productViews: number; carts: number };
    };
    const last = (m: { value: string }[]): Score | undefined =>
      m.length > 0 ? (JSON.parse(m[m.length - 1]!.value) as Score) : undefined;
    /** The visitor's last score record once it counts `events` events (a chunk publishes only its last). */
    const latestScore = async (events: number): Promise<Score> => {
      const counted = (s: Score | undefined): number =>
        s ? s.counts.pageViews + s.counts.productViews + s.counts.carts : 0;
      const records = await readTopic(kafka, topics.scores, (m) => counted(last(m)) >= events);
      return last(records)!;
    };
    const first = spawnWorker('w-score-1', { topics, groupId, stateDir });
    await first.start();
    await first.ready();
    await send('s1', 'page_view', { path: '/' });
    await send('s2', 'product_view', { sku: 'A' });
    await send('s3', 'product_view', { sku: 'B' });
    await send('bad', 'add_to_cart', { sku: 'A', quantity: 0, price: 1 }); // quantity must be >= 1
    expect((await latestScore(3)).counts).toEqual({
      pageViews: 1,
      productViews: 2,
      carts: 0,
      checkouts: 0,
    });
    expect(await first.kill('SIGTERM')).toBe(0);

    const second = spawnWorker('w-score-2', { topics, groupId, stateDir });
    await second.start();
    await second.ready();
    await send('s4', 'add_to_cart', { sku: 'A', quantity: 1, price: 10 });
    const z = -3 + 0.3 * Math.log(2) + 0.8 * Math.log(3) + 1.5 * Math.log(2);
    const latest = await latestScore(4);
    expect(latest.counts).toEqual({ pageViews: 1, productViews: 2, carts: 1, checkouts: 0 });
    expect(latest.score).toBe(Math.round((1 / (1 + Math.exp(-z))) * 10000) / 10000);

    const dead = await readTopic(kafka, topics.dlq, (m) => m.length >= 1);
    expect(dead[0]?.headers['intake-id']).toBe('bad');
    expect(dead[0]?.headers['intake-dlq-step']).toBe('validate');
    expect(dead[0]?.headers['intake-dlq-reason']).toMatch(/quantity must be >= 1/);
    await second.kill('SIGTERM');
  });

  it("keeps every visitor's count exact when partitions move while the previous owner still has score records in flight", async () => {
    const topics = await freshTopics();
    const groupId = randomName('g');
    const visitors = 12;
    const perRound = 240; // 20 page views per visitor per round
    const sendRound = async (round: number): Promise<string[]> => {
      const messages = Array.from({ length: perRound }, (_, i) =>
        rawEvent(`handover-${round}-${i}`, `visitor-${i % visitors}`),
      );
      await sendRecords(clients.producer, topics.raw, messages);
      return messages.map((m) => m.headers['intake-id']!);
    };
    /** The last score record of each visitor, in topic order: what compaction keeps. */
    const lastCounts = (messages: { key: string | null; value: string }[]): Map<string, number> =>
      new Map(
        messages.map((m) => [
          m.key ?? '',
          (JSON.parse(m.value) as { counts: { pageViews: number } }).counts.pageViews,
        ]),
      );
    const exact = (counts: Map<string, number>): boolean =>
      counts.size === visitors &&
      [...counts.values()].every((n) => n === 2 * (perRound / visitors));

    // The first owner commits its input once the records are in its log, and sends them
    // 15 s later: partitions move to the second worker while they are still in flight (its
    // start took 5 s in one clean-clone run beside the fault stages: with 6 s the records
    // were out before the hand-over looked, and nothing was handed over in flight).
    const first = spawnWorker('w-hand-1', { topics, groupId, stateDir });
    await first.start({ INTAKE_FAULT: 'delay-sends:15000' });
    await first.ready();
    const ids = await sendRound(0);
    await waitFor(async () => (await first.metric('intake_worker_consumed_total')) >= perRound, {
      what: 'the first worker committed round 0',
    });
    const second = spawnWorker('w-hand-2', {
      topics,
      groupId,
      stateDir,
      env: { INTAKE_HANDOVER_TIMEOUT_MS: '60000' },
    });
    await second.start();
    await second.ready();
    ids.push(...(await sendRound(1)));
    const audit = await auditDelivery(kafka, [topics.processed], ids, 120_000);
    expect(audit.missing).toEqual([]);
    await waitFor(async () => (await second.metric('intake_worker_consumed_total')) > 0, {
      what: 'the second worker took partitions over',
    });
    const settled = await readTopic(kafka, topics.scores, (m) => exact(lastCounts(m)), 60_000);
    expect(Object.fromEntries(lastCounts(settled))).toEqual(
      Object.fromEntries(Array.from({ length: visitors }, (_, v) => [`visitor-${v}`, 40])),
    );
    // Both drain their logs on SIGTERM: no late record may undo a count afterwards.
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(await second.kill('SIGTERM')).toBe(0);
    const all = await readTopic(kafka, topics.scores, (m) => m.length >= settled.length);
    expect(exact(lastCounts(all))).toBe(true);
    expect(readFileSync(second.logFile, 'utf8')).toContain('handover_settled');
  });

  it('hml: events retried with the same ids after a worker SIGKILL are in the processed topic exactly once', async () => {
    const topics = await freshTopics();
    const groupId = randomName('g');
    const env = { INTAKE_LOGGING: 'hml' };
    const worker = spawnWorker('w-retried', { topics, groupId, stateDir, env });
    await worker.start();
    await worker.ready();
    const ids = await produce(topics.raw, 'retried', 600);
    const valid = ids.filter((_, i) => i % 50 !== 49); // the others are garbage: DLQ
    expect((await auditDelivery(kafka, [topics.processed], valid)).missing).toEqual([]);

    expect(await worker.kill('SIGKILL')).toBeNull();
    await worker.start();
    await worker.ready();
    // The producers retry: the same ids (same keys, so the same partitions) again.
    expect(await produce(topics.raw, 'retried', 600)).toEqual(ids);
    await waitFor(
      async () =>
        (await worker.metric('intake_worker_duplicates_dropped_total')) >= valid.length ||
        undefined,
      { timeoutMs: 60_000, what: 'the retried events skipped as duplicates' },
    );
    // Read to the end (not just until each id was seen once), as a read_committed reader.
    const delivered = (await readToEnd(kafka, [topics.processed])).map(
      (m) => m.headers['intake-id'],
    );
    expect(delivered.sort()).toEqual([...valid].sort());
    expect(await worker.kill('SIGTERM')).toBe(0);
  });

  it("hml: a group offset set back behind the last committed transaction (a restarted broker's stale answer) is not processed again", async () => {
    const topics = await freshTopics();
    const groupId = randomName('g');
    const env = { INTAKE_LOGGING: 'hml' };
    const worker = spawnWorker('w-stale', { topics, groupId, stateDir, env });
    await worker.start();
    await worker.ready();
    const ids = await produce(topics.raw, 'stale', 300);
    const valid = ids.filter((_, i) => i % 50 !== 49);
    expect((await auditDelivery(kafka, [topics.processed], valid)).missing).toEqual([]);
    expect(await worker.kill('SIGTERM')).toBe(0);

    // What a broker restarted after a crash was seen answering: the group's offsets of a
    // minute before (here: the beginning), its data partitions whole.
    const committed = await clients.admin.fetchOffsets(groupId, topics.raw);
    expect(committed.some((p) => BigInt(p.offset) > 0n)).toBe(true);
    await clients.admin.setOffsets(
      groupId,
      topics.raw,
      committed.map((p) => ({ partition: p.partition, offset: '0' })),
    );

    await worker.start();
    await worker.ready();
    const more = await produce(topics.raw, 'after', 100);
    const validMore = more.filter((_, i) => i % 50 !== 49);
    expect((await auditDelivery(kafka, [topics.processed], validMore)).missing).toEqual([]);
    const delivered = (await readToEnd(kafka, [topics.processed])).map(
      (m) => m.headers['intake-id'],
    );
    expect(delivered.sort()).toEqual([...valid, ...validMore].sort());
    expect(readFileSync(worker.logFile, 'utf8')).toContain('committed_offset_behind_progress');
    expect(await worker.kill('SIGTERM')).toBe(0);
  });

  it('resends what the log holds after a crash between the log sync and the send', async () => {
    const topics = await freshTopics();
    const groupId = randomName('g');
    const ids = await produce(topics.raw, 'crash', 300);
    const worker = spawnWorker('w-crash', { topics, groupId, stateDir });
    await worker.start({ INTAKE_FAULT: 'crash-after-log-sync' });
    await worker.exited(); // killed itself with SIGKILL right after its first durable append
    expect(worker.child?.signalCode).toBe('SIGKILL');

    await worker.start();
    await worker.ready();
    const audit = await auditDelivery(kafka, [topics.processed, topics.dlq], ids);
    expect(audit.missing).toEqual([]);
    expect(await worker.metric('intake_worker_resent_total')).toBeGreaterThan(0);
    expect(readFileSync(worker.logFile, 'utf8')).toContain('outbound_log_resent');
    console.log(
      `crash-after-log-sync: ${ids.length} events, ${audit.duplicates} duplicates before dedup`,
    );
    await worker.kill('SIGTERM');
  });

  it.each(['sbml', 'hml'] as const)(
    '%s: loses nothing when workers are killed with SIGKILL 3 times under continuous load (hml: duplicates nothing)',
    async (logging) => {
      const topics = await freshTopics();
      const groupId = randomName('g');
      // A 10 s session: a killed worker's partitions move sooner (30 s by default).
      const env = { INTAKE_LOGGING: logging, INTAKE_WORKER_SESSION_TIMEOUT_MS: '10000' };
      const workers = [
        spawnWorker(`w-a-${logging}`, { topics, groupId, stateDir, env }),
        spawnWorker(`w-b-${logging}`, { topics, groupId, stateDir, env }),
      ];
      for (const w of workers) await w.start();
      for (const w of workers) await w.ready();

      const ids: string[] = [];
      let stop = false;
      const load = (async () => {
        for (let round = 0; !stop && round < 400; round++) {
          ids.push(...(await produce(topics.raw, `load-${round}`, 50)));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      for (let kill = 0; kill < 3; kill++) {
        await new Promise((r) => setTimeout(r, 2500));
        const victim = workers[kill % 2]!;
        await victim.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 500));
        await victim.start();
      }
      await new Promise((r) => setTimeout(r, 2000));
      stop = true;
      await load;
      const audit = await auditDelivery(kafka, [topics.processed, topics.dlq], ids, 180_000);
      expect(audit.missing).toEqual([]);
      expect(audit.byTopic[topics.dlq]).toBeGreaterThanOrEqual(ids.length / 50);
      for (const w of workers) await w.kill('SIGTERM');
      // Everything the topics hold (not just until each id was seen once).
      const all = await readToEnd(kafka, [topics.processed, topics.dlq]);
      const duplicates = all.length - new Set(all.map((m) => m.headers['intake-id'])).size;
      // HML: a killed worker's open transaction is aborted; read_committed sees each id once.
      if (logging === 'hml') expect(duplicates).toBe(0);
      console.log(
        `${logging}: SIGKILL x3 under load: ${ids.length} events, ${duplicates} duplicates before dedup, ` +
          `processed ${audit.byTopic[topics.processed] ?? 0}, dlq ${audit.byTopic[topics.dlq] ?? 0}`,
      );
    },
  );

  it('loses nothing while workers join and leave during load, and a leaving worker exits 0', async () => {
    const topics = await freshTopics();
    const groupId = randomName('g');
    const workers = ['w-1', 'w-2', 'w-3'].map((n) => spawnWorker(n, { topics, groupId, stateDir }));
    await workers[0]!.start();
    await workers[0]!.ready();
    const ids: string[] = [];
    let stop = false;
    const load = (async () => {
      for (let round = 0; !stop && round < 400; round++) {
        ids.push(...(await produce(topics.raw, `rebalance-${round}`, 50)));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    await workers[1]!.start();
    await new Promise((r) => setTimeout(r, 1500));
    await workers[2]!.start();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await workers[0]!.kill('SIGTERM')).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await load;
    const audit = await auditDelivery(kafka, [topics.processed, topics.dlq], ids, 180_000);
    expect(audit.missing).toEqual([]);
    await waitFor(async () => (await workers[1]!.metric('intake_worker_consumed_total')) > 0, {
      what: 'w-2 worked',
    });
    console.log(
      `join/leave under load: ${ids.length} events, ${audit.duplicates} duplicates before dedup`,
    );
    for (const w of workers.slice(1)) expect(await w.kill('SIGTERM')).toBe(0);
  });
});
