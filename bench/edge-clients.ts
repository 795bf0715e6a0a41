/**
 * A short A/B of the edge's Kafka clients (not a test, not `npm run bench`): against a
 * broker that is already running (with Intake's topics), interleaved repetitions of
 *
 * - each client's bare producer ceiling (bench/ceilings.ts), records/s and CPU per record;
 * - one edge per client (`INTAKE_KAFKA_CLIENT`), directly, closed loop (vegeta): single
 *   events (50 workers), then batches of 100 events of ~300 B and of ~1 KB
 *   (`BENCH_BATCH_WORKERS`, 16); events/s, the edge's CPU per event (from /proc), p99,
 *   and its peak RSS;
 * - with `BENCH_BASELINE_ROOT=<another checkout, built>`: that checkout's edge as well, with
 *   the Node flags in `BENCH_BASELINE_FLAGS` (none by default; this checkout's edges get
 *   the fleet's, `serviceNodeFlags`).
 *
 *   INTAKE_KAFKA_BROKERS=127.0.0.1:9092 node dist/bench/edge-clients.js
 *   (BENCH_SECONDS=6 BENCH_REPS=3 BENCH_PROFILE=1 for a CPU profile summary per edge;
 *   BENCH_PROFILE_DIR=<dir> keeps the profiles there; BENCH_SHAPES=single,'batched 100'
 *   runs only those shapes; BENCH_PIN=1 pins each edge, all its threads, to core 0 and
 *   vegeta to core 1, as `npm run bench` does; BENCH_CLIENTS=platformatic runs only that
 *   client's ceiling and edge; BENCH_EDGE_FLAGS='<flags>|<flags>' runs one edge per client
 *   and set of Node flags, instead of the fleet's)
 *
 * On a shared machine the absolute figures are noisy; compare within one run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../lib/paths';
import { KAFKA_CLIENTS } from '../lib/kafka/port';
import { loadEvent, requestBody } from '../test/load/scenarios';
import { attack } from '../test/load/vegeta';
import { clientCeiling } from './ceilings';
import { startBenchEdge } from './edge-process';
import { summarizeProfile } from './profile';

const ROOT = projectRoot(__dirname);
const BROKERS = process.env.INTAKE_KAFKA_BROKERS ?? '127.0.0.1:9092';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const PROFILE = process.env.BENCH_PROFILE === '1' || PROFILE_DIR !== undefined;
const PIN = process.env.BENCH_PIN === '1';
const ONLY = process.env.BENCH_SHAPES?.split(',').map((s) => s.trim());
const BASELINE = process.env.BENCH_BASELINE_ROOT;
const BASELINE_FLAGS = (process.env.BENCH_BASELINE_FLAGS ?? '').split(' ').filter(Boolean);
const PORT = 26290 + Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const KEY = 'edge-clients-bench';
/** Closed-loop workers for batches (`npm run bench` uses 48). */
const BATCH_WORKERS = Number(process.env.BENCH_BATCH_WORKERS ?? 16);
const CLIENTS = KAFKA_CLIENTS.filter(
  (c) => !process.env.BENCH_CLIENTS || process.env.BENCH_CLIENTS.split(',').includes(c),
);
/** Node flag sets to compare (undefined: the fleet's). */
const FLAG_SETS: (string[] | undefined)[] = process.env.BENCH_EDGE_FLAGS
  ? process.env.BENCH_EDGE_FLAGS.split('|').map((f) => f.split(' ').filter(Boolean))
  : [undefined];

/** A batch of 100 events whose JSON is about `bytes` long each (as `npm run bench`'s). */
function paddedBatch(bytes: number): string {
  return JSON.stringify(
    Array.from({ length: 100 }, (_, i) => {
      const e = loadEvent(i) as { data: Record<string, unknown> };
      e.data.pad = '';
      e.data.pad = 'x'.repeat(Math.max(0, bytes - JSON.stringify(e).length));
      return e;
    }),
  );
}

/** name, events per request, workers, body */
const SHAPES = (
  [
    ['single', 1, 50, requestBody(1)],
    ['batched 100', 100, BATCH_WORKERS, requestBody(100)],
    ['batched 100 x 1 KB', 100, BATCH_WORKERS, paddedBatch(1024)],
  ] as [string, number, number, string][]
).filter(([shape]) => !ONLY || ONLY.includes(shape));

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

async function edge(
  name: string,
  root: string,
  env: NodeJS.ProcessEnv,
  edgeFlags?: string[],
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-clients-'));
  const started = await startBenchEdge({
    root,
    brokers: BROKERS,
    port: PORT,
    apiKey: KEY,
    dir,
    instance: `edge-clients-${name.replace(/\W+/g, '-')}`,
    env,
    edgeFlags,
    nodeArgs: PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR ?? dir}`] : [],
  });
  const pid = started.process.pid!;
  if (PIN) execFileSync('taskset', ['-a', '-pc', '0', String(pid)], { stdio: 'ignore' });
  try {
    const url = `${started.url}/v1/events`;
    await attack({ url, apiKey: KEY, rate: 0, seconds: 2, body: requestBody(100), maxWorkers: 8 });
    for (const [shape, events, workers, body] of SHAPES) {
      const before = cpuSeconds(pid);
      const r = await attack({
        url,
        apiKey: KEY,
        rate: 0,
        seconds: SECONDS,
        body,
        maxWorkers: workers,
        ...(PIN ? { cpus: '1' } : {}),
      });
      const accepted = (r.statusCodes['202'] ?? 0) * events;
      const cpuUs = ((cpuSeconds(pid) - before) * 1e6) / Math.max(1, accepted);
      console.log(
        `${name}, ${shape}: ${Math.round(accepted / r.seconds)} events/s, ${cpuUs.toFixed(1)} µs CPU/event, p99 ${r.latencyMs.p99} ms, non-202 ${r.requests - (r.statusCodes['202'] ?? 0)}`,
      );
    }
    console.log(`${name}: peak RSS ${peakRssMb(pid)} MB`);
    await started.stop();
    const profileDir = PROFILE_DIR ?? dir;
    const profile = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .pop();
    if (profile) {
      for (const e of summarizeProfile(join(profileDir, profile), root, 15))
        console.log(`  ${e.selfPercent}% ${e.function} ${e.where}`);
    }
  } finally {
    started.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (let rep = 1; rep <= REPS; rep++) {
    console.log(`-- repetition ${rep}/${REPS}`);
    for (const client of CLIENTS) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const rate = await clientCeiling({
        client,
        brokers: [BROKERS],
        topic: 'intake.raw',
        recordBytes: 300,
        seconds: SECONDS,
        producers: 1,
      });
      const cpu = process.cpuUsage(cpu0);
      const records = (rate * (performance.now() - t0)) / 1000;
      console.log(
        `bare ${client} producer, 300 B: ${Math.round(rate)} records/s, ~${(((cpu.user + cpu.system) * 1) / records).toFixed(1)} µs CPU/record`,
      );
    }
    // The baseline as it ran: its code, and the Node flags of its time (BENCH_BASELINE_FLAGS).
    if (BASELINE) await edge('baseline edge', BASELINE, {}, BASELINE_FLAGS);
    for (const client of CLIENTS) {
      for (const flags of FLAG_SETS) {
        const name = flags
          ? `edge (${client}, ${flags.join(' ') || 'no flags'})`
          : `edge (${client})`;
        await edge(name, ROOT, { INTAKE_KAFKA_CLIENT: client }, flags);
      }
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
