/**
 * The end-to-end latency alone (not a test): a fleet of nginx + 2 edges, then windows of
 * 2 workers at a constant rate (bench/latency.ts), SBML and HML on each Kafka client,
 * interleaved; optionally the workers of another build beside this checkout's, on the same
 * fleet and rate, for an A/B of the worker:
 *
 *   npm run bench:e2e                                   (this checkout, every mode)
 *   git worktree add /tmp/intake-old <commit> && (cd /tmp/intake-old && npm ci && npm run build)
 *   BENCH_BASELINE_ROOT=/tmp/intake-old npm run bench:e2e
 *
 * BENCH_E2E_RATE (2000 req/s), BENCH_SECONDS (10 s per window), BENCH_REPS (3),
 * BENCH_E2E_VISITORS (1000 keys; 1: every event on one raw partition) and
 * BENCH_E2E_MODES (`sbml:kafkajs,hml:kafkajs,sbml:platformatic,hml:platformatic`) change
 * the run. Prints each window, then each mode's medians (p50, p99), per build.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KafkaClientName } from '../lib/kafka/port';
import { projectRoot } from '../lib/paths';
import { benchCli, benchFleetEnv, median } from './harness';
import { endToEndLatency } from './latency';

const ROOT = projectRoot(__dirname);
const OFFSET = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const RATE = Number(process.env.BENCH_E2E_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const VISITORS = Number(process.env.BENCH_E2E_VISITORS ?? 1000);
const MODES = (
  process.env.BENCH_E2E_MODES ?? 'sbml:kafkajs,hml:kafkajs,sbml:platformatic,hml:platformatic'
)
  .split(',')
  .map((m) => {
    const [logging, client] = m.split(':');
    const ok =
      ['sbml', 'hml'].includes(logging ?? '') && ['kafkajs', 'platformatic'].includes(client ?? '');
    if (!ok) throw new Error(`BENCH_E2E_MODES: "${m}" is not <sbml|hml>:<kafkajs|platformatic>`);
    return { logging: logging as 'sbml' | 'hml', client: client as KafkaClientName };
  });
const BUILDS: { name: string; root: string }[] = [
  { name: 'this checkout', root: ROOT },
  ...(process.env.BENCH_BASELINE_ROOT
    ? [{ name: 'baseline', root: resolve(process.env.BENCH_BASELINE_ROOT) }]
    : []),
];
// Below the ephemeral range (32768+): a worker's admin port must never be taken by an
// outgoing connection of the load.
const PORTS = { http: 22080 + OFFSET, kafka: 22092 + OFFSET, workers: 22150 + OFFSET };
const STATE = join(ROOT, '.intake', 'bench-e2e');
const env = benchFleetEnv({
  stateDir: STATE,
  httpPort: PORTS.http,
  kafkaPort: PORTS.kafka,
  workerBasePort: PORTS.workers + 20,
  edges: 2,
});
const cli = benchCli(env);

async function main(): Promise<void> {
  cli('down');
  process.stderr.write('bench: starting the fleet (broker, nginx, 2 edges) ...\n');
  cli('up', '--detach');
  const apiKey = readFileSync(join(STATE, 'api-key'), 'utf8').trim();
  const windows = new Map<string, { p50: number[]; p99: number[] }>();
  try {
    for (let rep = 1; rep <= REPS; rep++)
      for (const { logging, client } of MODES)
        for (const build of BUILDS) {
          const name = `${logging} on ${client}, ${build.name}`;
          const r = await endToEndLatency({
            root: build.root,
            brokers: `127.0.0.1:${PORTS.kafka}`,
            url: `http://127.0.0.1:${PORTS.http}/v1/events`,
            apiKey,
            rate: RATE,
            seconds: SECONDS,
            workers: 2,
            adminPortBase: PORTS.workers,
            logging,
            client,
            visitors: VISITORS,
          });
          const w = windows.get(name) ?? { p50: [], p99: [] };
          w.p50.push(r.endToEndMs.p50);
          w.p99.push(r.endToEndMs.p99);
          windows.set(name, w);
          process.stderr.write(
            `bench: ${rep}/${REPS} ${name}: p50 ${r.endToEndMs.p50} ms, p99 ${r.endToEndMs.p99} ms, ${r.endToEndMs.count} events (${r.endToEndMs.missing} missing), edge p99 ${r.edge.latencyMs.p99} ms\n`,
          );
        }
  } finally {
    cli('down');
  }
  console.log(`end to end at ${RATE} req/s, ${VISITORS} visitor(s), ${REPS} x ${SECONDS} s`);
  console.table(
    Object.fromEntries(
      [...windows].map(([name, w]) => [
        name,
        { 'p50 ms': median(w.p50), 'p99 ms': median(w.p99), 'p99s ms': w.p99.join(', ') },
      ]),
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
