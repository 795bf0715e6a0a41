/**
 * Sources benchmark (not a test): on the local fleet with 2 edges behind nginx (no
 * workers), in ONE run on this machine:
 *
 *   isolation   a calm source's single-event requests at a fixed rate (BENCH_CALM_RATE,
 *               50/s): their answer latency p99 alone, then beside a flood of another
 *               source at 10x its per-second quota (quota BENCH_FLOOD_QUOTA, 50 events/s;
 *               flood 500 requests/s); the ratio, and the calm source's refused answers
 *   throughput  batched events/s (100 per request, closed loop, 48 workers) on one edge,
 *               for a source with no quota and the default policy, and for one with a
 *               per-second and a per-day quota (never reached) and a policy (IP truncated,
 *               one field removed, one hashed); the ratio
 *
 *   npm run bench:sources     (BENCH_SECONDS=10 BENCH_REPS=3)
 *
 * Every figure is the median of BENCH_REPS interleaved repetitions. Results go to stdout
 * and bench/results-sources.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../lib/paths';
import { attack } from '../test/load/vegeta';
import type { AttackResult } from '../test/load/vegeta';
import { benchCli, benchFleetEnv, median } from './harness';

const ROOT = projectRoot(__dirname);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CALM_RATE = Number(process.env.BENCH_CALM_RATE ?? 50);
const FLOOD_QUOTA = Number(process.env.BENCH_FLOOD_QUOTA ?? 50);
const OFFSET = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const HTTP_PORT = 46080 + OFFSET;
const STATE = join(ROOT, '.intake', 'bench-sources');
const env = benchFleetEnv({
  stateDir: STATE,
  httpPort: HTTP_PORT,
  kafkaPort: 46092 + OFFSET,
  workerBasePort: 46101 + OFFSET,
  edges: 2,
});
const cli = benchCli(env);

const event = (i: number): object => ({
  type: 'page_view',
  key: `visitor-${i % 1000}`,
  data: { path: `/products/${i}`, referrer: 'https://example.com/', email: `v${i}@example.com` },
});
const single = JSON.stringify(event(1));
const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i)));
const NGINX = `http://127.0.0.1:${HTTP_PORT}/v1/events`;
const EDGE_1 = `http://127.0.0.1:${HTTP_PORT + 1}/v1/events`;

/** A new source with `settings` (named for this run: the fleet's topics outlive it); its key. */
const RUN = Date.now().toString(36);
function source(prefix: string, ...settings: string[]): string {
  const name = `${prefix}-${RUN}`;
  const key = cli('sources', 'add', name);
  if (settings.length > 0) cli('sources', 'set', name, ...settings);
  return key;
}

const refused = (r: AttackResult): number =>
  Object.entries(r.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((n, [, count]) => n + count, 0);

async function main(): Promise<void> {
  cli('down');
  cli('up', '--detach');
  try {
    const calm = source('bench-calm');
    const flood = source(
      'bench-flood',
      '--per-second',
      String(FLOOD_QUOTA),
      '--burst',
      String(FLOOD_QUOTA),
    );
    const plain = source('bench-plain');
    const policed = source(
      'bench-policed',
      ...['--per-second', '1000000', '--burst', '1000000', '--per-day', '1000000000000'],
      ...['--ip', 'truncate', '--redact', '/referrer', '--hash', '/email'],
    );
    // Every edge follows the topic within seconds: let both apply the last change.
    await new Promise((r) => setTimeout(r, 5000));
    const calmAttack = () =>
      attack({
        url: NGINX,
        body: single,
        apiKey: calm,
        rate: CALM_RATE,
        seconds: SECONDS,
        maxWorkers: 50,
      });
    const alone: AttackResult[] = [];
    const flooded: AttackResult[] = [];
    const floods: AttackResult[] = [];
    for (let i = 0; i < REPS; i++) {
      alone.push(await calmAttack());
      const [c, f] = await Promise.all([
        calmAttack(),
        attack({
          url: NGINX,
          body: single,
          apiKey: flood,
          rate: 10 * FLOOD_QUOTA,
          seconds: SECONDS,
          maxWorkers: 200,
        }),
      ]);
      flooded.push(c);
      floods.push(f);
    }
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < REPS; i++) {
      for (const [key, into] of [
        [plain, off],
        [policed, on],
      ] as const) {
        const r = await attack({
          url: EDGE_1,
          body: batch,
          apiKey: key,
          rate: 0,
          seconds: SECONDS,
          maxWorkers: 48,
        });
        into.push(r.throughput * 100);
      }
    }
    const p99Alone = median(alone.map((r) => r.latencyMs.p99));
    const p99Flooded = median(flooded.map((r) => r.latencyMs.p99));
    const results = {
      date: new Date().toISOString(),
      seconds: SECONDS,
      reps: REPS,
      isolation: {
        calmRate: CALM_RATE,
        floodQuota: FLOOD_QUOTA,
        floodRate: 10 * FLOOD_QUOTA,
        calmP99MsAlone: p99Alone,
        calmP99MsBesideFlood: p99Flooded,
        ratio: +(p99Flooded / p99Alone).toFixed(2),
        calmRefused: flooded.reduce((n, r) => n + refused(r), 0),
        floodRefusedShare: +(
          floods.reduce((n, r) => n + refused(r), 0) / floods.reduce((n, r) => n + r.requests, 0)
        ).toFixed(3),
      },
      throughput: {
        eventsPerSecondOff: Math.round(median(off)),
        eventsPerSecondOn: Math.round(median(on)),
        ratio: +(median(on) / median(off)).toFixed(2),
        runsOff: off.map(Math.round),
        runsOn: on.map(Math.round),
      },
    };
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(
      join(ROOT, 'bench', 'results-sources.json'),
      `${JSON.stringify(results, null, 2)}\n`,
    );
  } finally {
    cli('down');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:sources failed: ${String(err)}\n`);
  process.exit(1);
});
