/**
 * Edge benchmark (not a test): in ONE run on this machine, through nginx and directly,
 * how many single-event requests/s and batched events/s the edge takes, against a bare
 * `node:http` handler that parses the body and answers 202 without Kafka (the HTTP
 * ceiling of this machine), with the same load generator (autocannon) and connections.
 *
 *   npm run bench:edge     (BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_BATCH=100)
 *
 * The fleet runs with 1 or 2 edges and no workers (nothing else competes for the two
 * cores); every figure is the median of BENCH_REPS runs, interleaved. Results go to stdout
 * and bench/results-edge.json.
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../lib/paths';
import { startBareHttp } from './ceilings';
import { benchFleetEnv, load, median } from './harness';

const ROOT = projectRoot(__dirname);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const OFFSET = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const HTTP_PORT = 47080 + OFFSET;
const BARE_PORT = 47999 + OFFSET;
const STATE = join(ROOT, '.intake', 'bench-edge');
const fleetEnv = (edges: number): NodeJS.ProcessEnv =>
  benchFleetEnv({
    stateDir: STATE,
    httpPort: HTTP_PORT,
    kafkaPort: 47092 + OFFSET,
    workerBasePort: 47101 + OFFSET,
    edges,
  });
const cli = (edges: number, ...args: string[]): void => {
  execFileSync(process.execPath, [join(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args], {
    env: fleetEnv(edges),
    stdio: 'inherit',
  });
};

const event = (i: number): object => ({
  type: 'page_view',
  key: `visitor-${i % 1000}`,
  data: { path: `/products/${i}`, referrer: 'https://example.com/' },
});
const single = JSON.stringify(event(1));
const batch = JSON.stringify(Array.from({ length: BATCH }, (_, i) => event(i)));

async function main(): Promise<void> {
  const bare: ChildProcess = startBareHttp(BARE_PORT);
  const rows: Record<string, { runs: number[]; p99: number[]; errors: number; unit: string }> = {};
  const record = (
    name: string,
    unit: string,
    r: { rps: number; p99: number; errors: number },
    factor = 1,
  ): void => {
    rows[name] ??= { runs: [], p99: [], errors: 0, unit };
    rows[name].runs.push(Math.round(r.rps * factor));
    rows[name].p99.push(r.p99);
    rows[name].errors += r.errors;
    process.stderr.write(
      `bench: ${name}: ${Math.round(r.rps * factor)} ${unit}, p99 ${r.p99} ms, non-2xx ${r.errors}\n`,
    );
  };
  try {
    for (const edges of [1, 2]) {
      cli(edges, 'down');
      cli(edges, 'up', '--detach');
      const key = readFileSync(join(STATE, 'api-key'), 'utf8').trim();
      const nginx = `http://127.0.0.1:${HTTP_PORT}/v1/events`;
      const direct = `http://127.0.0.1:${HTTP_PORT + 1}/v1/events`;
      const bareUrl = `http://127.0.0.1:${BARE_PORT}/`;
      for (let rep = 0; rep < REPS; rep++) {
        if (edges === 1) {
          record(
            'bare node:http, single',
            'req/s',
            await load(bareUrl, single, key, SECONDS, CONNECTIONS),
          );
          record(
            'edge direct (1), single',
            'req/s',
            await load(direct, single, key, SECONDS, CONNECTIONS),
          );
          record(
            'bare node:http, batched',
            'events/s',
            await load(bareUrl, batch, key, SECONDS, CONNECTIONS),
            BATCH,
          );
          record(
            'edge direct (1), batched',
            'events/s',
            await load(direct, batch, key, SECONDS, CONNECTIONS),
            BATCH,
          );
        }
        record(
          `nginx + ${edges} edge(s), single`,
          'req/s',
          await load(nginx, single, key, SECONDS, CONNECTIONS),
        );
        record(
          `nginx + ${edges} edge(s), batched`,
          'events/s',
          await load(nginx, batch, key, SECONDS, CONNECTIONS),
          BATCH,
        );
      }
      cli(edges, 'down');
    }
  } finally {
    bare.kill();
  }
  const m = (name: string): number => median(rows[name]!.runs);
  const report = {
    method: {
      seconds: SECONDS,
      connections: CONNECTIONS,
      batch: BATCH,
      repetitions: REPS,
      generator: 'autocannon (same process for every target)',
    },
    results: Object.fromEntries(
      Object.entries(rows).map(([name, r]) => [
        name,
        {
          unit: r.unit,
          median: median(r.runs),
          runs: r.runs,
          p99ms: median(r.p99),
          non2xx: r.errors,
        },
      ]),
    ),
    ratios: {
      edgeVsBareSingle: +(m('edge direct (1), single') / m('bare node:http, single')).toFixed(3),
      edgeVsBareBatched: +(m('edge direct (1), batched') / m('bare node:http, batched')).toFixed(3),
      twoEdgesVsOneSingle: +(
        m('nginx + 2 edge(s), single') / m('nginx + 1 edge(s), single')
      ).toFixed(3),
    },
    at: new Date().toISOString(),
  };
  writeFileSync(join(ROOT, 'bench', 'results-edge.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(
    `\nEdge throughput (${SECONDS} s x ${REPS}, ${CONNECTIONS} connections, batches of ${BATCH}), medians`,
  );
  console.table(
    Object.fromEntries(
      Object.entries(report.results).map(([k, v]) => [
        k,
        { [v.unit]: v.median, 'p99 ms': v.p99ms, 'non-2xx': v.non2xx },
      ]),
    ),
  );
  console.log('ratios (same run):', report.ratios);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
