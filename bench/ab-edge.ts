/**
 * A/B of the edge (not a test): this checkout's edge against another build of it, side by
 * side in ONE run on one broker, each edge pinned to CPU 0 and vegeta to CPU 1, so both
 * builds see the same machine. Closed-loop load straight to each edge (no nginx), in
 * interleaved repetitions (A B, then B A):
 *
 *   single       one 300-byte event per request (50 workers)
 *   batched      100 events of 300 bytes per request (48 workers)
 *   plain        100 events per request of a source with no quota and the default policy
 *   policed      the same for a source with quotas (never reached) and a policy (IP
 *                truncated, one field removed, one hashed)
 *
 * The other build is a built checkout of another commit, e.g.
 *
 *   git worktree add /tmp/intake-old <commit> && (cd /tmp/intake-old && npm ci && npm run build)
 *   npm run bench:ab -- /tmp/intake-old        (BENCH_SECONDS=5 BENCH_REPS=3)
 *
 * Prints events/s per shape and build (medians) and new/old; a build from before sources
 * existed measures only `single` and `batched`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../lib/paths';
import { attack } from '../test/load/vegeta';
import { startBenchEdge } from './edge-process';
import type { BenchEdge } from './edge-process';
import { benchCli, benchFleetEnv, median } from './harness';

const ROOT = projectRoot(__dirname);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const OFFSET = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const STATE = join(ROOT, '.intake', 'bench-ab');
const env = benchFleetEnv({
  stateDir: STATE,
  httpPort: 47080 + OFFSET,
  kafkaPort: 47092 + OFFSET,
  workerBasePort: 47101 + OFFSET,
  edges: 1,
});
const cli = benchCli(env);

/** An event of about `bytes` bytes of JSON. */
function padded(i: number, bytes: number): object {
  const e = { type: 'page_view', key: `visitor-${i % 1000}`, data: { path: `/p/${i}`, pad: '' } };
  e.data.pad = 'x'.repeat(Math.max(0, bytes - JSON.stringify(e).length));
  return e;
}
const withFields = (i: number): object => ({
  type: 'page_view',
  key: `visitor-${i % 1000}`,
  data: { path: `/products/${i}`, referrer: 'https://example.com/', email: `v${i}@example.com` },
});
const hundred = (f: (i: number) => object): string =>
  JSON.stringify(Array.from({ length: 100 }, (_, i) => f(i)));

interface Shape {
  name: string;
  body: string;
  events: number;
  workers: number;
  /** The source whose key sends it (the fleet's own when absent). */
  source?: 'plain' | 'policed';
}

const SHAPES: Shape[] = [
  { name: 'single', body: JSON.stringify(padded(1, 300)), events: 1, workers: 50 },
  { name: 'batched', body: hundred((i) => padded(i, 300)), events: 100, workers: 48 },
  { name: 'plain', body: hundred(withFields), events: 100, workers: 48, source: 'plain' },
  { name: 'policed', body: hundred(withFields), events: 100, workers: 48, source: 'policed' },
];

async function main(): Promise<void> {
  const other = process.argv[2];
  if (!other || !existsSync(join(resolve(other), 'dist', 'services', 'edge', 'main.js'))) {
    console.error(
      'usage: npm run bench:ab -- OTHER_CHECKOUT (a built checkout: npm ci && npm run build)',
    );
    process.exit(2);
  }
  const oldRoot = resolve(other);
  const hasSources = existsSync(
    join(oldRoot, 'dist', 'services', 'edge', 'sources', 'source-policy.js'),
  );
  cli('down');
  rmSync(STATE, { recursive: true, force: true });
  cli('up', '--detach');
  const edges = new Map<string, BenchEdge>();
  try {
    const run = Date.now().toString(36);
    const keys: Record<string, string> = {
      fleet: readFileSync(join(STATE, 'api-key'), 'utf8').trim(),
    };
    if (hasSources) {
      keys.plain = cli('sources', 'add', `ab-plain-${run}`);
      keys.policed = cli('sources', 'add', `ab-policed-${run}`);
      cli(
        'sources',
        'set',
        `ab-policed-${run}`,
        ...['--per-second', '1000000', '--burst', '1000000', '--per-day', '1000000000000'],
        ...['--ip', 'truncate', '--redact', '/referrer', '--hash', '/email'],
      );
    }
    const builds = [
      ['old', oldRoot],
      ['new', ROOT],
    ] as const;
    for (const [i, [name, root]] of builds.entries()) {
      const edge = await startBenchEdge({
        root,
        brokers: `127.0.0.1:${47092 + OFFSET}`,
        port: 47200 + OFFSET + i,
        apiKey: keys.fleet!,
        dir: join(STATE, name),
        instance: `ab-${name}`,
      });
      edges.set(name, edge);
      execFileSync('taskset', ['-a', '-pc', '0', String(edge.process.pid)], { stdio: 'ignore' });
    }
    // Both edges follow the sources topic: let them apply the last change.
    await new Promise((r) => setTimeout(r, 5000));
    const shapes = SHAPES.filter((s) => !s.source || hasSources);
    const runs = new Map<string, number[]>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const shape of shapes) {
        const order = rep % 2 === 0 ? builds : [...builds].reverse();
        for (const [name] of order) {
          const r = await attack({
            url: `${edges.get(name)!.url}/v1/events`,
            body: shape.body,
            apiKey: keys[shape.source ?? 'fleet']!,
            rate: 0,
            seconds: SECONDS,
            maxWorkers: shape.workers,
            cpus: '1',
          });
          const perSecond = Math.round(r.throughput * shape.events);
          const k = `${name} ${shape.name}`;
          runs.set(k, [...(runs.get(k) ?? []), perSecond]);
          console.log(
            `rep ${rep + 1}/${REPS} ${k}: ${perSecond} events/s, codes ${JSON.stringify(r.statusCodes)}`,
          );
        }
      }
    }
    console.log('\nshape      old events/s   new events/s   new/old');
    for (const shape of shapes) {
      const o = median(runs.get(`old ${shape.name}`)!);
      const n = median(runs.get(`new ${shape.name}`)!);
      console.log(
        `${shape.name.padEnd(10)} ${String(o).padStart(12)}   ${String(n).padStart(12)}   ${(n / o).toFixed(3)}`,
      );
    }
    if (hasSources) {
      const m = (k: string): number => median(runs.get(k)!);
      for (const [name] of builds)
        console.log(
          `${name}: policed/plain ${(m(`${name} policed`) / m(`${name} plain`)).toFixed(3)}`,
        );
    }
  } finally {
    for (const edge of edges.values()) await edge.stop();
    cli('down');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
