/**
 * End-to-end latency: from "accepted at the edge" (the envelope's `receivedAt`, stamped by
 * the edge) until a consumer of `intake.processed` sees the processed event, at a
 * constant arrival rate (vegeta, single events through nginx) for `seconds`; plus the
 * edge's answer latency at that rate (vegeta's own). Worker processes are started here,
 * on the benchmark fleet's broker, in a fresh consumer group whose offsets start at the
 * end of `intake.raw` (so the backlog of the throughput runs is not processed first). The
 * load starts once both workers share the raw partitions and have processed an event of
 * each; its events are those of 1,000 visitors, spread over the raw partitions.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaClientName } from '../lib/kafka/client';
import { keyPartition } from '../lib/kafka/partitioner';
import { serviceNodeFlags } from '../services/cli/fleet/processes';
import { loadEvent } from '../test/load/scenarios';
import { testKafka } from '../test/support/kafka-helpers';
import { attack } from '../test/load/vegeta';
import type { AttackResult } from '../test/load/vegeta';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How long after the load the accepted events may still arrive. */
const DRAIN_MS = 30_000;

export interface LatencyResult {
  rate: number;
  edge: AttackResult;
  /**
   * Over every accepted event: one not seen within the drain (30 s after the load) counts
   * as the drain's wait, a lower bound (`missing` says how many).
   */
  endToEndMs: { p50: number; p99: number; max: number; count: number; missing: number };
  workerRssMb: number;
}

function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
          .toString()
          .trim(),
      );
    } catch {
      // exited
    }
  }
  return Math.round(kb / 1024);
}

export async function endToEndLatency(opts: {
  root: string;
  brokers: string;
  url: string;
  apiKey: string;
  rate: number;
  seconds: number;
  workers: number;
  adminPortBase: number;
  cpus?: string;
  /** The workers' message logging (`INTAKE_LOGGING`, default sbml). */
  logging?: 'sbml' | 'hml';
  /** The workers' Kafka client (`INTAKE_KAFKA_CLIENT`, default this process's). */
  client?: KafkaClientName;
  /**
   * The load's single events are those of this many visitors (keys), one after the other:
   * spread over the raw partitions as a site's traffic is (default 1,000).
   */
  visitors?: number;
}): Promise<LatencyResult> {
  const kafka = testKafka([opts.brokers]);
  const group = `bench-latency-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  const high = await admin.fetchTopicOffsets('intake.raw');
  await admin.setOffsets(
    group,
    'intake.raw',
    high.map((p) => ({ partition: p.partition, offset: p.high })),
  );
  await admin.disconnect();

  const dir = mkdtempSync(join(tmpdir(), 'bench-latency-'));
  const logOf = (i: number): string => join(dir, `worker-${i + 1}.log`);
  const workers: ChildProcess[] = Array.from({ length: opts.workers }, (_, i) => {
    const log = openSync(logOf(i), 'w');
    const worker = spawn(
      process.execPath,
      [...serviceNodeFlags('worker'), join(opts.root, 'dist', 'services', 'worker', 'main.js')],
      {
        env: {
          ...process.env,
          INTAKE_LOG_LEVEL: 'warn',
          INTAKE_INSTANCE: `bench-worker-${i + 1}`,
          INTAKE_KAFKA_BROKERS: opts.brokers,
          INTAKE_GROUP_ID: group,
          INTAKE_WORKER_ADMIN_PORT: String(opts.adminPortBase + i),
          INTAKE_OUTBOUND_LOG_DIR: join(dir, `worker-${i + 1}`),
          INTAKE_LOGGING: opts.logging ?? 'sbml',
          ...(opts.client ? { INTAKE_KAFKA_CLIENT: opts.client } : {}),
        },
        stdio: ['ignore', log, 'inherit'],
      },
    );
    closeSync(log);
    return worker;
  });
  /** Each worker's state and the end of its log (warnings and errors), for a failed window. */
  const workerReport = (): string =>
    workers
      .map((w, i) => {
        const tail = readFileSync(logOf(i), 'utf8').trim().split('\n').slice(-5).join('\n');
        const state =
          w.exitCode === null && w.signalCode === null
            ? 'running'
            : `exited (${w.exitCode ?? w.signalCode})`;
        return `worker ${i + 1}: ${state}${tail ? `, its log ends:\n${tail}` : ''}`;
      })
      .join('\n');
  const consumer = kafka.consumer({ groupId: `${group}-reader` });
  const latencies: number[] = [];
  let since = Number.POSITIVE_INFINITY;
  let peakRss = 0;
  const rss = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(workers.map((w) => w.pid!)));
  }, 500);
  try {
    await consumer.connect();
    await consumer.subscribe('intake.processed', { fromBeginning: false });
    const joined = new Promise<void>((r) => consumer.onGroupJoin(() => r()));
    const warmSeen = new Set<string>();
    await consumer.run({
      // eslint-disable-next-line @typescript-eslint/require-await -- the port wants a promise
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const m of batch.messages) {
          const e = JSON.parse(m.value?.toString() ?? '{}') as {
            receivedAt?: string;
            type?: string;
            key?: string;
          };
          if (e.type === 'bench_warm_up' && e.key) warmSeen.add(e.key);
          const at = e.receivedAt ? Date.parse(e.receivedAt) : NaN;
          if (at >= since) latencies.push(now - at);
        }
      },
    });
    await joined;
    await settled(
      workers.map((_, i) => opts.adminPortBase + i),
      high.length,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${workerReport()}`);
    });
    // Warm up until the workers process every raw partition (a partition's first chunk
    // pays its start: with HML the claim of its transactional producer): one key per
    // partition, events posted until each key's arrives.
    const keys = warmUpKeys(high.length);
    const deadline = Date.now() + 90_000;
    while (warmSeen.size < keys.length) {
      if (Date.now() > deadline)
        throw new Error(
          `the workers processed ${warmSeen.size} of ${keys.length} partitions within 90 s`,
        );
      for (const key of keys.filter((k) => !warmSeen.has(k)))
        await fetch(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${opts.apiKey}` },
          body: JSON.stringify({ type: 'bench_warm_up', key }),
        });
      await sleep(500);
    }
    since = Date.now();
    const edge = await attack({
      url: opts.url,
      body: Array.from({ length: opts.visitors ?? 1000 }, (_, i) => JSON.stringify(loadEvent(i))),
      apiKey: opts.apiKey,
      rate: opts.rate,
      seconds: opts.seconds,
      ...(opts.cpus ? { cpus: opts.cpus } : {}),
    });
    const expected = edge.statusCodes['202'] ?? 0;
    const attackEnd = Date.now();
    const drained = attackEnd + DRAIN_MS;
    while (latencies.length < expected && Date.now() < drained) await sleep(100);
    const count = latencies.length;
    const missing = Math.max(0, expected - count);
    const sorted = [...latencies, ...Array<number>(missing).fill(Date.now() - attackEnd)].sort(
      (a, b) => a - b,
    );
    const q = (x: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? 0;
    return {
      rate: opts.rate,
      edge,
      endToEndMs: {
        p50: q(0.5),
        p99: q(0.99),
        max: sorted[sorted.length - 1] ?? 0,
        count,
        missing,
      },
      workerRssMb: peakRss,
    };
  } finally {
    clearInterval(rss);
    await consumer.disconnect();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(
      workers.map((w) =>
        w.exitCode === null ? new Promise((r) => w.once('exit', r)) : Promise.resolve(),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Waits until every worker is ready and holds raw partitions, all `partitions` of them
 * assigned between them: a worker that joins late would move partitions during the load.
 */
async function settled(ports: number[], partitions: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const said = await Promise.all(
      ports.map((port) =>
        fetch(`http://127.0.0.1:${port}/readyz`)
          .then(async (r) => ({
            ok: r.ok,
            ...((await r.json()) as { details?: { partitions?: number[] } }),
          }))
          .catch((err: unknown) => ({ ok: false, error: String(err), details: undefined })),
      ),
    );
    const held = said.map((s) => (s.ok ? (s.details?.partitions ?? []) : []));
    if (held.every((p) => p.length > 0) && held.flat().length === partitions) return;
    if (Date.now() > deadline)
      throw new Error(
        `the workers did not share the ${partitions} raw partitions within 120 s: ${JSON.stringify(said)}`,
      );
    await sleep(200);
  }
}

/** Keys whose events land on each of `partitions` raw partitions, one per partition. */
function warmUpKeys(partitions: number): string[] {
  const byPartition = new Map<number, string>();
  for (let i = 0; byPartition.size < partitions; i++) {
    const key = `warm-${i}`;
    const p = keyPartition(key, partitions);
    if (!byPartition.has(p)) byPartition.set(p, key);
  }
  return [...byPartition.values()];
}
