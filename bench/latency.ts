/**
 * End-to-end latency: from "accepted at the edge" (the envelope's `receivedAt`, stamped by
 * the edge) until a consumer of `intake.processed` sees the processed event, at a
 * constant arrival rate (vegeta, single events through nginx) for `seconds`; plus the
 * edge's answer latency at that rate (vegeta's own). Worker processes are started here,
 * on the benchmark fleet's broker, in a fresh consumer group whose offsets start at the
 * end of `intake.raw` (so the backlog of the throughput runs is not processed first).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPartition } from '../lib/kafka/partitioner';
import { requestBody } from '../test/load/scenarios';
import { testKafka } from '../test/support/kafka-helpers';
import { attack } from '../test/load/vegeta';
import type { AttackResult } from '../test/load/vegeta';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LatencyResult {
  rate: number;
  edge: AttackResult;
  endToEndMs: { p50: number; p99: number; max: number; count: number };
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
  const workers: ChildProcess[] = Array.from({ length: opts.workers }, (_, i) =>
    spawn(process.execPath, [join(opts.root, 'dist', 'services', 'worker', 'main.js')], {
      env: {
        ...process.env,
        INTAKE_LOG_LEVEL: 'warn',
        INTAKE_INSTANCE: `bench-worker-${i + 1}`,
        INTAKE_KAFKA_BROKERS: opts.brokers,
        INTAKE_GROUP_ID: group,
        INTAKE_WORKER_ADMIN_PORT: String(opts.adminPortBase + i),
        INTAKE_OUTBOUND_LOG_DIR: join(dir, `worker-${i + 1}`),
        INTAKE_LOGGING: opts.logging ?? 'sbml',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
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
      body: requestBody(1),
      apiKey: opts.apiKey,
      rate: opts.rate,
      seconds: opts.seconds,
      ...(opts.cpus ? { cpus: opts.cpus } : {}),
    });
    const expected = edge.statusCodes['202'] ?? 0;
    const drained = Date.now() + 30_000;
    while (latencies.length < expected && Date.now() < drained) await sleep(100);
    const sorted = [...latencies].sort((a, b) => a - b);
    const q = (x: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(x * sorted.length))] ?? 0;
    return {
      rate: opts.rate,
      edge,
      endToEndMs: {
        p50: q(0.5),
        p99: q(0.99),
        max: sorted[sorted.length - 1] ?? 0,
        count: sorted.length,
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
